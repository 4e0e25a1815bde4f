// Problems of a drawn grid shown on the map (issue 3 item 9: "problems shown on the map before
// saving"): overlap areas as a red hatched layer (source `problems`), a numbered pin at each
// problem's location, and the same numbers in the side panel's list.
import { Marker } from "maplibre-gl";

export const PROBLEM_SOURCE = "problems";
const HATCH = "problem-hatch";
const RED = "#d62728";

/** A 12×12 diagonal red hatch as an image for `fill-pattern` (no sprite server needed). */
function hatchImage(ratio = window.devicePixelRatio || 1) {
  const size = Math.round(12 * ratio);
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgba(214, 39, 40, 0.16)";
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = RED;
  ctx.lineWidth = 1.6 * ratio;
  ctx.beginPath();
  for (const offset of [-size, 0, size]) {
    ctx.moveTo(offset, size);
    ctx.lineTo(offset + size, 0);
  }
  ctx.stroke();
  return { image: ctx.getImageData(0, 0, size, size), ratio };
}

/** Add the problems source and its layers (call once the style has loaded). */
export function addProblemLayers(map, beforeId) {
  const { image, ratio } = hatchImage();
  if (!map.hasImage(HATCH)) map.addImage(HATCH, image, { pixelRatio: ratio });
  map.addSource(PROBLEM_SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer({
    id: "problems-fill", type: "fill", source: PROBLEM_SOURCE, filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-pattern": HATCH },
  }, beforeId);
  map.addLayer({
    id: "problems-line", type: "line", source: PROBLEM_SOURCE, filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "line-color": RED, "line-width": 2, "line-dasharray": [2, 1] },
  }, beforeId);
}

/**
 * Show `result` ({ok, problems, overlaps}) on the map: returns the markers so they can be removed.
 * Each problem gets `number` (1-based) for the list; problems without a location get none.
 */
export function showProblems(map, result, previousMarkers = []) {
  previousMarkers.forEach((marker) => marker.remove());
  const overlaps = result && result.overlaps && Array.isArray(result.overlaps.features)
    ? result.overlaps.features.map((feature, i) => ({ ...feature, id: i + 1 }))
    : [];
  map.getSource(PROBLEM_SOURCE).setData({ type: "FeatureCollection", features: overlaps });
  const markers = [];
  (result && result.problems ? result.problems : []).forEach((problem, i) => {
    const location = problem.location;
    if (!location || typeof location.lng !== "number") return;
    const pin = document.createElement("div");
    pin.className = "ge-problem-pin";
    pin.textContent = String(i + 1);
    pin.title = problem.message;
    pin.style.pointerEvents = "none"; // never in the way of dragging a vertex underneath
    markers.push(new Marker({ element: pin, anchor: "center" }).setLngLat([location.lng, location.lat]).addTo(map));
  });
  return markers;
}

export function clearProblems(map, markers = []) {
  markers.forEach((marker) => marker.remove());
  const source = map.getSource(PROBLEM_SOURCE);
  if (source) source.setData({ type: "FeatureCollection", features: [] });
  return [];
}
