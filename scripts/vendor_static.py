"""Copy the built files of the pinned npm packages into static/vendor/ (git-ignored).

Pages load MapLibre GL, ECharts and terra-draw from here, through the import map in
templates/base.html; nothing is fetched from a CDN at run time.
"""
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
OUT = ROOT / "static" / "vendor"

# package -> files under node_modules/<package>/ to copy (globs)
FILES = {
    "maplibre-gl": ["dist/maplibre-gl.mjs", "dist/maplibre-gl-shared.mjs", "dist/maplibre-gl-worker.mjs", "dist/maplibre-gl.css"],
    "echarts": ["dist/echarts.esm.min.mjs", "dist/echarts.min.js"],
    "terra-draw": ["dist/terra-draw.module.js"],
    "terra-draw-maplibre-gl-adapter": ["dist/terra-draw-maplibre-gl-adapter.module.js"],
    "ol": ["dist/ol.js", "ol.css"],  # OpenLayers for the GeoDjango admin widget (Django points it at a CDN)
}


def main() -> int:
    if not NODE.is_dir():
        print("node_modules is missing: run `npm ci` first", file=sys.stderr)
        return 1
    copied = 0
    for package, patterns in FILES.items():
        target = OUT / package
        target.mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            matches = sorted((NODE / package).glob(pattern))
            if not matches:
                print(f"missing {package}/{pattern}", file=sys.stderr)
                return 1
            for src in matches:
                dst = target / src.name
                if not dst.exists() or dst.stat().st_mtime < src.stat().st_mtime or dst.stat().st_size != src.stat().st_size:
                    shutil.copy2(src, dst)
                    copied += 1
    print(f"==> static/vendor: {copied} file(s) updated from node_modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
