// Snapping to neighbouring grids' edges for terra-draw (`snapping: { toCustom }`).
//
// terra-draw's own line/coordinate snapping only knows the features it draws; the neighbours of a
// grid being drawn are ordinary map layers loaded from the API. `createGridSnapper` returns a
// `toCustom(event, context)` function: given the pointer, it looks at the rings of the loaded
// neighbour grids and returns the nearest vertex within `pixels` screen pixels, or else the nearest
// point on an edge within `pixels`, or undefined (no snap). Vertices win over edges so that shared
// corners line up exactly and neighbours touch without gaps or slivers.
//
// Distances are measured on screen (after `project`), so snapping feels the same at every zoom.
// Candidates are pre-filtered by a lng/lat box around the pointer, so a few thousand vertices cost
// well under a millisecond.

function ringsOf(geometry) {
  if (!geometry) return [];
  switch (geometry.type) {
    case "Polygon":
      return geometry.coordinates;
    case "MultiPolygon":
      return geometry.coordinates.flat();
    case "LineString":
      return [geometry.coordinates];
    case "MultiLineString":
      return geometry.coordinates;
    default:
      return [];
  }
}

/** The nearest point to p on the segment a–b, all as {x, y}; returns { x, y, d2 }. */
export function nearestOnSegment(p, a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2;
  t = Math.max(0, Math.min(1, t));
  const x = a.x + t * dx;
  const y = a.y + t * dy;
  return { x, y, t, d2: (p.x - x) ** 2 + (p.y - y) ** 2 };
}

/**
 * createGridSnapper({ getGeometries, pixels, onSnap }) → toCustom(event, context)
 *  - getGeometries(): the GeoJSON geometries to snap to (neighbours, the parent outline)
 *  - pixels: the snapping distance in screen pixels
 *  - onSnap(kind, position): optional; told "vertex" / "edge" / null after each decision
 */
export function createGridSnapper({ getGeometries, pixels = 12, onSnap = null }) {
  const limit2 = pixels * pixels;

  return function toCustom(event, context) {
    const { project, unproject } = context;
    const pointer = { x: event.containerX, y: event.containerY };
    // A lng/lat box of ±pixels around the pointer (a screen square maps to a lng/lat box here).
    const corners = [
      unproject(pointer.x - pixels, pointer.y - pixels),
      unproject(pointer.x + pixels, pointer.y + pixels),
    ];
    const west = Math.min(corners[0].lng, corners[1].lng);
    const east = Math.max(corners[0].lng, corners[1].lng);
    const south = Math.min(corners[0].lat, corners[1].lat);
    const north = Math.max(corners[0].lat, corners[1].lat);
    const inBox = (c) => c[0] >= west && c[0] <= east && c[1] >= south && c[1] <= north;

    let bestVertex = null;
    let bestEdge = null;
    for (const geometry of getGeometries()) {
      for (const ring of ringsOf(geometry)) {
        for (let i = 0; i < ring.length; i += 1) {
          const a = ring[i];
          if (inBox(a)) {
            const pa = project(a[0], a[1]);
            const d2 = (pa.x - pointer.x) ** 2 + (pa.y - pointer.y) ** 2;
            if (d2 <= limit2 && (!bestVertex || d2 < bestVertex.d2)) bestVertex = { position: [a[0], a[1]], d2 };
          }
          if (bestVertex || i + 1 >= ring.length) continue;
          const b = ring[i + 1];
          // Skip segments whose box misses the pointer's box.
          if (Math.max(a[0], b[0]) < west || Math.min(a[0], b[0]) > east) continue;
          if (Math.max(a[1], b[1]) < south || Math.min(a[1], b[1]) > north) continue;
          const pa = project(a[0], a[1]);
          const pb = project(b[0], b[1]);
          const near = nearestOnSegment(pointer, pa, pb);
          if (near.d2 <= limit2 && (!bestEdge || near.d2 < bestEdge.d2)) {
            // Interpolate in lng/lat (exact on the straight segment as drawn on the map).
            bestEdge = { position: [a[0] + near.t * (b[0] - a[0]), a[1] + near.t * (b[1] - a[1])], d2: near.d2 };
          }
        }
      }
    }
    const chosen = bestVertex || bestEdge;
    if (onSnap) onSnap(bestVertex ? "vertex" : bestEdge ? "edge" : null, chosen ? chosen.position : null);
    return chosen ? chosen.position : undefined;
  };
}
