"""Reading and writing grid files: GeoJSON, zipped Shapefile, KML and GeoPackage (GR-4, GC-1, SEC-6).

Why this module exists
----------------------
Branch managers bring grids drawn elsewhere (desktop GIS, AMap/Baidu tools, Google Earth) and take
them back out again.  This module turns an uploaded file into a list of :class:`FeatureIn` in
WGS-84 and turns WGS-84 grids into a file, and nothing else: it is PURE (no database, no Django),
so the import/export services persist or audit the results and the validator judges geometries.

Rules it follows:

* The format is recognised by CONTENT (magic bytes and structure), never by the file name
  (SEC-6): a GeoJSON renamed ``.shp`` still reads, a PNG named ``.geojson`` is refused.
* Zip archives are inspected before anything is extracted: no path traversal, no links, at most
  :data:`ZIP_MAX_MEMBERS` members, at most :data:`ZIP_MAX_UNCOMPRESSED` bytes uncompressed and a
  compression ratio of at most :data:`ZIP_MAX_RATIO`.  Only the shapefile's own members are
  extracted, under fixed names in a private temporary directory, and the bytes actually inflated
  are counted (a forged size in the zip directory cannot smuggle a bomb through).
* A CRS DECLARED in the file (a Shapefile ``.prj``, a GeoPackage SRS, an old GeoJSON ``crs``) that
  is not WGS-84 / CGCS2000 longitude-latitude is reprojected to EPSG:4326 with pyproj.  The
  GCJ-02 / BD-09 datums are never declared in files, so the user names the datum of the input
  and :func:`gis_core.crs.convert_shapely` (the only place converting datums) undoes it.
* Geometries are handed over as they are (Z kept, invalid rings kept) so that the validator can
  report them; features without a geometry come back with ``geometry=None``.  The one exception
  is KML, whose altitude is conventionally written as ``0`` by every tool: an all-zero Z there is
  dropped (a real altitude is kept).
* Errors are :class:`GridFileError` with a stable ``code`` and problems in Chinese and English;
  parser messages are cut to their first line and never show temporary paths.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import numpy as np
import pyogrio
import pyproj
import shapely
from pyogrio import raw as ogr_raw
from shapely.geometry.base import BaseGeometry

from gis_core.crs import CRS, UnknownCRSError, convert_shapely, parse_crs

__all__ = [
    "EXPORT_FORMATS",
    "FeatureIn",
    "FileProblem",
    "GridFileError",
    "detect_format",
    "read_grid_file",
    "write_grid_file",
]

# --------------------------------------------------------------------------- limits and constants

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_FEATURES = 20_000
ZIP_MAX_MEMBERS = 50
ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
ZIP_MAX_RATIO = 100
# Below this many uncompressed bytes an archive cannot hurt anyone, whatever its ratio (a small,
# space-padded .dbf legitimately compresses very well).
ZIP_RATIO_FLOOR = 1024 * 1024
_COPY_CHUNK = 1024 * 1024

FORMAT_GEOJSON = "geojson"
FORMAT_SHAPEFILE = "shapefile"
FORMAT_KML = "kml"
FORMAT_GPKG = "gpkg"
FORMAT_UNKNOWN = "unknown"

# fmt -> (content type, file name suffix)
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    FORMAT_GEOJSON: ("application/geo+json", ".geojson"),
    FORMAT_SHAPEFILE: ("application/zip", ".zip"),
    FORMAT_KML: ("application/vnd.google-earth.kml+xml", ".kml"),
    FORMAT_GPKG: ("application/geopackage+sqlite3", ".gpkg"),
}

_SQLITE_MAGIC = b"SQLite format 3\x00"
_GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # local file header; empty archive
_KML_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?kml[\s>/]")
_GEOJSON_TYPES = {
    "FeatureCollection",
    "Feature",
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
# Columns the LIBKML driver adds to every KML layer; they describe the placemark, not the grid.
_KML_STRUCTURAL_FIELDS = {
    "id",
    "timestamp",
    "begin",
    "end",
    "altitudemode",
    "tessellate",
    "extrude",
    "visibility",
    "draworder",
    "icon",
    "snippet",
}
# Geographic CRSs whose longitude/latitude we take as WGS-84 (CGCS2000 differs by centimetres).
_WGS84_LIKE_EPSG = {4326, 4979, 4490, 4480}
_WGS84_LIKE_DATUM = re.compile(
    r"wgs\W*_?(19)?84|world\s*geodetic\s*system\s*1984|china\W*_?2000|cgcs\W*2000", re.I
)
_SHAPEFILE_FIELD_BYTES = 10
_SAFE_LAYER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --------------------------------------------------------------------------- results and errors


@dataclass(frozen=True)
class FeatureIn:
    """One feature read from a file: its 0-based position, its attributes and its WGS-84 geometry."""

    index: int
    properties: dict
    geometry: BaseGeometry | None


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong with an uploaded file, for the user (Chinese) and the log/API (English).

    ``index`` is the 0-based feature position when the problem concerns one feature (``None`` for
    the file as a whole); ``field`` names the attribute concerned, if any.
    """

    index: int | None
    field: str | None
    code: str
    message: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        """Plain-dict form, for ``ApplicationError.details`` or a job log."""
        return {
            "index": self.index,
            "field": self.field,
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
        }


class GridFileError(Exception):
    """A grid file could not be read or written; ``code`` is stable, ``problems`` say why.

    Deliberately not an ``ApplicationError`` so this module stays free of Django; the import and
    export services map it to ``ValidationFailed(code=..., details=[p.as_dict() ...])``.
    """

    def __init__(self, code: str, problems: list[FileProblem]) -> None:
        self.code = code
        self.problems = list(problems)
        super().__init__(self.message_en)

    @property
    def message(self) -> str:
        """The first problem's Chinese message (what a clerk sees)."""
        return self.problems[0].message if self.problems else self.code

    @property
    def message_en(self) -> str:
        """The first problem's English message."""
        return self.problems[0].message_en if self.problems else self.code


def _fail(code: str, message: str, message_en: str, *, index: int | None = None,
          field_name: str | None = None) -> GridFileError:
    return GridFileError(code, [FileProblem(index, field_name, code, message, message_en)])


# --------------------------------------------------------------------------- format detection


def _text_head(data: bytes, size: int = 65536) -> bytes:
    """The start of ``data`` without a UTF-8 byte order mark and leading whitespace."""
    head = data[:size]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip()


def detect_format(data: bytes) -> str:
    """Return ``"geojson"``, ``"shapefile"`` (a zip), ``"kml"``, ``"gpkg"`` or ``"unknown"``.

    Looks only at the content: zip local-header magic, the SQLite header plus a GeoPackage
    application id or ``gpkg_contents`` table, XML with a ``<kml`` element, or JSON text starting
    with ``{``.  Whether the content is then readable is for :func:`read_grid_file` to find out.
    """
    if not data:
        return FORMAT_UNKNOWN
    if data.startswith(_ZIP_MAGICS):
        return FORMAT_SHAPEFILE
    if data.startswith(_SQLITE_MAGIC):
        if data[68:72] in _GPKG_APPLICATION_IDS or b"gpkg_contents" in data:
            return FORMAT_GPKG
        return FORMAT_UNKNOWN
    head = _text_head(data)
    if head.startswith(b"{"):
        return FORMAT_GEOJSON
    if head.startswith(b"<") and _KML_TAG.search(head):
        return FORMAT_KML
    return FORMAT_UNKNOWN


# --------------------------------------------------------------------------- CRS helpers


def _parse_datum(name: str) -> CRS:
    try:
        return parse_crs(name)
    except UnknownCRSError:
        raise _fail(
            "crs_unknown",
            f"未知的坐标系“{name}”，请选择 WGS-84、GCJ-02（高德/腾讯）或 BD-09（百度）。",
            f"Unknown coordinate system {name!r}; choose WGS-84, GCJ-02 (AMap/Tencent) or BD-09 (Baidu).",
        ) from None


def _declared_crs_needs_reprojection(declared: str | None) -> pyproj.CRS | None:
    """Return the declared CRS if its coordinates must be reprojected to EPSG:4326, else None."""
    if not declared:
        return None
    crs = pyproj.CRS.from_user_input(declared)
    if crs.is_geographic:
        epsg = crs.to_epsg(min_confidence=70)
        datum_name = crs.datum.name if crs.datum is not None else ""
        if epsg in _WGS84_LIKE_EPSG or _WGS84_LIKE_DATUM.search(datum_name or ""):
            return None
    return crs


def _reproject(geom: BaseGeometry, transformer: pyproj.Transformer) -> BaseGeometry:
    def transform(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float, copy=True)
        if len(out):
            x, y = transformer.transform(out[:, 0], out[:, 1])
            out[:, 0], out[:, 1] = x, y
        return out

    return shapely.transform(geom, transform, include_z=None)


# --------------------------------------------------------------------------- reading


def read_grid_file(
    data: bytes,
    *,
    filename: str,
    crs: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_features: int = DEFAULT_MAX_FEATURES,
) -> list[FeatureIn]:
    """Read an uploaded grid file into WGS-84 features, or raise :class:`GridFileError`.

    ``crs`` is the datum the user says the coordinates are in (``wgs84``, ``gcj02``, ``bd09`` or
    an alias accepted by :func:`gis_core.crs.parse_crs`).  ``filename`` is only used in messages;
    the format is detected from ``data`` (see :func:`detect_format`).

    Codes: ``crs_unknown``, ``file_empty``, ``file_too_large``, ``file_format_unsupported``,
    ``file_too_many_features``, ``file_corrupt``, ``file_zip_unsafe``, ``file_zip_bomb``,
    ``file_zip_too_many_members``, ``file_shapefile_missing``, ``file_shapefile_ambiguous``,
    ``file_shapefile_incomplete``, ``file_kml_unsafe``, ``file_layer_missing``,
    ``file_crs_missing``, ``file_crs_transform_failed``.
    """
    datum = _parse_datum(crs)
    if not data:
        raise _fail("file_empty", "文件是空的。", "The file is empty.")
    if len(data) > max_bytes:
        raise _fail(
            "file_too_large",
            f"文件过大（{_mb(len(data))}），上限为 {_mb(max_bytes)}。",
            f"The file is too large ({_mb(len(data))}); the limit is {_mb(max_bytes)}.",
        )
    fmt = detect_format(data)
    if fmt == FORMAT_UNKNOWN:
        raise _unsupported()

    display_name = os.path.basename((filename or "").replace("\\", "/")) or "upload"
    with tempfile.TemporaryDirectory(prefix="gridfile-") as tmp:
        try:
            if fmt == FORMAT_GEOJSON:
                path, encoding = _stage_geojson(data, tmp, max_features), None
            elif fmt == FORMAT_SHAPEFILE:
                path, encoding = _stage_shapefile_zip(data, tmp)
            elif fmt == FORMAT_KML:
                path, encoding = _stage_kml(data, tmp), None
            else:
                path, encoding = _stage_file(data, tmp, "input.gpkg"), None
            layers = _choose_layers(path, fmt)
            features = _read_layers(path, layers, fmt=fmt, encoding=encoding, max_features=max_features)
        except GridFileError:
            raise
        except _PARSER_ERRORS as exc:
            raise _corrupt(exc, tmp, display_name) from None

    if not features:
        raise _fail("file_empty", "文件中没有任何要素。", "The file contains no features.")
    if datum != CRS.WGS84:
        features = [
            FeatureIn(f.index, f.properties, None if f.geometry is None else
                      convert_shapely(f.geometry, src=datum, dst=CRS.WGS84))
            for f in features
        ]
    return features


_PARSER_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError,  # every pyogrio error
    ValueError,  # includes UnicodeDecodeError and json.JSONDecodeError
    OSError,
    EOFError,
    NotImplementedError,  # zip compression method zipfile cannot inflate
    zlib.error,
    zipfile.BadZipFile,
    shapely.errors.GEOSException,
    pyproj.exceptions.CRSError,
)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _unsupported() -> GridFileError:
    return _fail(
        "file_format_unsupported",
        "无法识别的文件格式，请上传 GeoJSON、Shapefile（zip 压缩包）、KML 或 GeoPackage 文件。",
        "Unrecognised file format; upload GeoJSON, a zipped Shapefile, KML or GeoPackage.",
    )


def _corrupt(exc: BaseException, tmp: str, display_name: str) -> GridFileError:
    text = str(exc).strip() or type(exc).__name__
    for prefix in (os.path.realpath(tmp), tmp):
        text = re.sub(re.escape(prefix) + r"[/\\]?[^\s'\":,)]*", display_name, text)
    first_line = text.splitlines()[0][:300] if text else type(exc).__name__
    return _fail(
        "file_corrupt",
        f"文件已损坏或无法解析：{first_line}",
        f"The file is damaged or cannot be parsed: {first_line}",
    )


def _stage_file(data: bytes, tmp: str, name: str) -> str:
    path = os.path.join(tmp, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _too_many(count: int, max_features: int) -> GridFileError:
    return _fail(
        "file_too_many_features",
        f"文件中的要素过多（{count} 个），一次最多导入 {max_features} 个。",
        f"The file has too many features ({count}); at most {max_features} can be imported at once.",
    )


def _stage_geojson(data: bytes, tmp: str, max_features: int) -> str:
    """Check the JSON structure (and count features) before GDAL sees it; store it as UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Some Chinese Windows tools save JSON in GBK; GDAL wants UTF-8.
        text = data.decode("gb18030")
    document = json.loads(text)
    if not isinstance(document, dict) or document.get("type") not in _GEOJSON_TYPES:
        raise _fail(
            "file_format_unsupported",
            "这是 JSON 文件，但不是 GeoJSON（缺少 FeatureCollection/Feature/几何类型）。",
            "This is JSON but not GeoJSON (no FeatureCollection, Feature or geometry type).",
        )
    if document["type"] == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise ValueError("FeatureCollection without a 'features' array")
        if not features:
            raise _fail("file_empty", "文件中没有任何要素。", "The file contains no features.")
        if len(features) > max_features:
            raise _too_many(len(features), max_features)
    del document
    return _stage_file(text.encode("utf-8"), tmp, "input.geojson")


def _stage_kml(data: bytes, tmp: str) -> str:
    # expat expands internal entities; nothing legitimate in KML needs a DTD.
    if re.search(rb"<!(DOCTYPE|ENTITY)", data[:1024 * 1024], re.I):
        raise _fail(
            "file_kml_unsafe",
            "KML 文件包含 DOCTYPE/ENTITY 声明，出于安全原因不予处理。",
            "The KML file contains a DOCTYPE/ENTITY declaration and is refused for safety.",
        )
    return _stage_file(data, tmp, "input.kml")


def _zip_name_is_unsafe(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    if not name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return True
    if any(part == ".." for part in name.split("/")):
        return True
    mode = (info.external_attr >> 16) & 0o170000
    return mode == 0o120000  # a symbolic link


def _stage_shapefile_zip(data: bytes, tmp: str) -> tuple[str, str | None]:
    """Check the archive, extract the one shapefile under fixed names, return (path, encoding)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > ZIP_MAX_MEMBERS:
            raise _fail(
                "file_zip_too_many_members",
                f"压缩包内文件过多（{len(infos)} 个，上限 {ZIP_MAX_MEMBERS} 个）。",
                f"The zip archive has too many members ({len(infos)}; at most {ZIP_MAX_MEMBERS}).",
            )
        for info in infos:
            if _zip_name_is_unsafe(info):
                raise _fail(
                    "file_zip_unsafe",
                    f"压缩包内含不安全的路径“{info.filename}”，已拒绝。",
                    f"The zip archive contains an unsafe path {info.filename!r}; refused.",
                )
            if info.flag_bits & 0x1:
                raise _fail(
                    "file_zip_unsafe",
                    "压缩包已加密，无法读取。",
                    "The zip archive is encrypted and cannot be read.",
                )
        total = sum(info.file_size for info in infos)
        packed = sum(info.compress_size for info in infos)
        if total > ZIP_MAX_UNCOMPRESSED or (
            total > ZIP_RATIO_FLOOR and total > ZIP_MAX_RATIO * max(packed, 1)
        ):
            raise _zip_bomb()

        files = [i for i in infos if not i.is_dir() and not _is_mac_junk(i.filename)]
        by_name = {i.filename.replace("\\", "/").lower(): i for i in files}
        shps = [name for name in by_name if name.endswith(".shp")]
        if not shps:
            raise _fail(
                "file_shapefile_missing",
                "压缩包中没有找到 .shp 文件。",
                "No .shp file was found in the zip archive.",
            )
        if len(shps) > 1:
            raise _fail(
                "file_shapefile_ambiguous",
                "压缩包中有多个 .shp 文件，请每次只上传一个图层。",
                "The zip archive holds several .shp files; upload one layer at a time.",
            )
        stem = shps[0][: -len(".shp")]
        missing = [ext for ext in (".shx", ".dbf") if stem + ext not in by_name]
        if missing:
            raise _fail(
                "file_shapefile_incomplete",
                f"Shapefile 不完整，缺少 {'、'.join(missing)} 文件。",
                f"The Shapefile is incomplete; {', '.join(missing)} missing.",
            )
        budget = [ZIP_MAX_UNCOMPRESSED]
        cpg: bytes | None = None
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            info = by_name.get(stem + ext)
            if info is None:
                continue
            target = os.path.join(tmp, "input" + ext)
            _extract_member(archive, info, target, budget)
            if ext == ".cpg":
                with open(target, "rb") as handle:
                    cpg = handle.read(64)
    shp_path = os.path.join(tmp, "input.shp")
    return shp_path, _dbf_encoding(os.path.join(tmp, "input.dbf"), cpg)


def _is_mac_junk(name: str) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base.startswith("._")


def _zip_bomb() -> GridFileError:
    return _fail(
        "file_zip_bomb",
        f"压缩包解压后过大或压缩比异常（上限 {ZIP_MAX_UNCOMPRESSED // (1024 * 1024)} MB、压缩比 {ZIP_MAX_RATIO}），已拒绝。",
        f"The zip archive would expand too much (limit {ZIP_MAX_UNCOMPRESSED // (1024 * 1024)} MB, "
        f"ratio {ZIP_MAX_RATIO}); refused.",
    )


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, budget: list[int]) -> None:
    """Copy one member in chunks, refusing more bytes than declared or than the total budget."""
    written = 0
    with archive.open(info) as source, open(target, "wb") as sink:
        while chunk := source.read(_COPY_CHUNK):
            written += len(chunk)
            budget[0] -= len(chunk)
            if written > info.file_size or budget[0] < 0:
                raise _zip_bomb()
            sink.write(chunk)


def _dbf_encoding(dbf_path: str, cpg: bytes | None) -> str | None:
    """The encoding to read the .dbf with: None lets GDAL honour the .cpg; else UTF-8, then GBK."""
    if cpg is not None and cpg.strip():
        return None
    with open(dbf_path, "rb") as handle:
        content = handle.read()
    header_size = int.from_bytes(content[8:10], "little") if len(content) >= 32 else len(content)
    # Field descriptors are 32 bytes each (the name is the first 11); only names and records are
    # text, the rest of the header is binary.
    names = b"".join(
        content[offset:offset + 11].split(b"\0", 1)[0] for offset in range(32, header_size - 1, 32)
    )
    records = names + content[header_size:]
    try:
        records.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        records.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        return None


def _choose_layers(path: str, fmt: str) -> list[str]:
    """Which layers to read: GPKG ``grids`` or its first polygon layer; every KML layer; else the one."""
    layers = [(str(name), str(gtype or "")) for name, gtype in pyogrio.list_layers(path)]
    if not layers:
        raise _fail("file_layer_missing", "文件中没有图层。", "The file contains no layer.")
    if fmt == FORMAT_KML:
        return [name for name, _ in layers]
    if fmt == FORMAT_GPKG:
        spatial = [(name, gtype) for name, gtype in layers if gtype and gtype.lower() != "none"]
        for name, _ in spatial:
            if name == "grids":
                return [name]
        for name, _ in spatial:
            if name.lower() == "grids":
                return [name]
        for name, gtype in spatial:
            if "polygon" in gtype.lower():
                return [name]
        if spatial:
            return [spatial[0][0]]
        raise _fail(
            "file_layer_missing",
            "GeoPackage 中没有含几何的图层。",
            "The GeoPackage has no layer with geometries.",
        )
    return [layers[0][0]]


def _read_layers(path: str, layers: list[str], *, fmt: str, encoding: str | None,
                 max_features: int) -> list[FeatureIn]:
    features: list[FeatureIn] = []
    for layer in layers:
        info = pyogrio.read_info(path, layer=layer, encoding=encoding)
        count = int(info.get("features") or -1)
        if count > max_features - len(features):
            raise _too_many(len(features) + count, max_features)
        meta, _fids, geometries, field_data = ogr_raw.read(
            path,
            layer=layer,
            encoding=encoding,
            datetime_as_string=True,
            max_features=max_features - len(features) + 1,
        )
        if len(geometries) > max_features - len(features):
            raise _too_many(len(features) + len(geometries), max_features)
        shapes = _to_wgs84_lnglat(geometries, meta.get("crs"), first_index=len(features))
        names = [str(name) for name in meta["fields"]]
        ogr_types = list(meta.get("ogr_types") or [None] * len(names))
        columns = [
            _python_values(values, ogr_type) for values, ogr_type in zip(field_data, ogr_types, strict=True)
        ]
        for row, geom in enumerate(shapes):
            props = {name: column[row] for name, column in zip(names, columns, strict=True)}
            if fmt == FORMAT_KML:
                props, geom = _tidy_kml(props, geom)
            features.append(FeatureIn(len(features), props, geom))
    return features


def _to_wgs84_lnglat(geometries: Iterable[Any], declared: str | None, *, first_index: int) -> list[Any]:
    """WKB -> shapely, reprojected to lng/lat if the file declares a projected/other CRS."""
    shapes = list(shapely.from_wkb(np.asarray(list(geometries), dtype=object)))
    source = _declared_crs_needs_reprojection(declared)
    if source is not None:
        transformer = pyproj.Transformer.from_crs(source, "EPSG:4326", always_xy=True)
        shapes = [None if g is None else _reproject(g, transformer) for g in shapes]
    problems = []
    for offset, geom in enumerate(shapes):
        if geom is None or geom.is_empty:
            continue
        xmin, ymin, xmax, ymax = geom.bounds
        if not all(math.isfinite(v) for v in (xmin, ymin, xmax, ymax)):
            problems.append(FileProblem(
                first_index + offset, None, "file_crs_transform_failed",
                "该要素的坐标无法转换为经纬度。", "The feature's coordinates cannot be converted to longitude/latitude.",
            ))
        elif declared is None and (xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90):
            raise _fail(
                "file_crs_missing",
                "坐标不是经纬度，且文件没有声明坐标系（例如 Shapefile 缺少 .prj 文件）。",
                "The coordinates are not longitude/latitude and the file declares no coordinate system "
                "(for example a Shapefile without its .prj file).",
            )
    if problems:
        raise GridFileError("file_crs_transform_failed", problems)
    return shapes


def _python_values(values: np.ndarray, ogr_type: str | None) -> list[Any]:
    """A pyogrio column as plain Python values (NaN -> None), JSON-serialisable.

    pyogrio hands an integer column with nulls over as floats with NaN; the OGR type restores ints.
    """
    integer = ogr_type in ("OFTInteger", "OFTInteger64")
    out = []
    for value in values.tolist():
        if isinstance(value, float) and math.isnan(value):
            value = None
        elif integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, bytes):
            value = value.hex()
        out.append(value)
    return out


def _tidy_kml(props: dict, geom: Any) -> tuple[dict, Any]:
    """Drop LIBKML's placemark bookkeeping columns, call ``Name`` ``name``, drop an all-zero Z."""
    tidy: dict[str, Any] = {}
    for key, value in props.items():
        lowered = key.lower()
        if lowered in _KML_STRUCTURAL_FIELDS:
            continue
        if lowered == "name":
            tidy["name"] = value
        elif lowered == "description":
            if value not in (None, ""):
                tidy["description"] = value
        else:
            tidy[key] = value
    if geom is not None and geom.has_z:
        zs = shapely.get_coordinates(geom, include_z=True)[:, 2]
        if not np.any(zs):
            geom = shapely.force_2d(geom)
    return tidy, geom


# --------------------------------------------------------------------------- writing


def write_grid_file(
    features: list[tuple[dict, BaseGeometry]],
    *,
    fmt: str,
    crs: str = "wgs84",
    layer: str = "grids",
) -> tuple[bytes, str, str]:
    """Write WGS-84 grid features as ``fmt`` in datum ``crs``; return (bytes, content type, suffix).

    ``fmt`` is ``geojson`` (RFC 7946; a top-level ``"datum"`` member names a non-WGS-84 datum),
    ``shapefile`` (a zip of .shp/.shx/.dbf/.prj/.cpg in UTF-8, plus ``fields.txt`` when attribute
    names had to be shortened to 10 bytes, plus ``datum.txt`` for a non-WGS-84 datum), ``kml`` or
    ``gpkg``.  Geometries go through :func:`gis_core.crs.convert_shapely`; files still declare
    EPSG:4326, as GCJ-02/BD-09 data conventionally does.
    """
    if fmt not in EXPORT_FORMATS:
        raise _fail(
            "file_format_unsupported",
            f"不支持导出为“{fmt}”格式，可选：GeoJSON、Shapefile、KML、GeoPackage。",
            f"Cannot export as {fmt!r}; choose geojson, shapefile, kml or gpkg.",
        )
    datum = _parse_datum(crs)
    layer_name = layer if _SAFE_LAYER.match(layer or "") else "grids"

    geoms = []
    for _props, geom in features:
        if geom is not None and datum != CRS.WGS84:
            geom = convert_shapely(geom, src=CRS.WGS84, dst=datum)
        geoms.append(geom)
    names, columns = _columns([props for props, _ in features])
    renamed: dict[str, str] = {}
    if fmt == FORMAT_SHAPEFILE:
        renamed = _shapefile_field_names(names)
        names = [renamed.get(name, name) for name in names]

    content_type, suffix = EXPORT_FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="gridexport-") as tmp:
        if fmt == FORMAT_GEOJSON:
            path = os.path.join(tmp, f"{layer_name}.geojson")
            _ogr_write(path, geoms, names, columns, driver="GeoJSON", layer=layer_name,
                       layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "9"})
            payload = _geojson_with_datum(path, datum)
        elif fmt == FORMAT_KML:
            path = os.path.join(tmp, f"{layer_name}.kml")
            _ogr_write(path, geoms, names, columns, driver="KML", layer=layer_name,
                       dataset_options={"NameField": "name", "DescriptionField": "description"})
            payload = _read_bytes(path)
        elif fmt == FORMAT_GPKG:
            path = os.path.join(tmp, f"{layer_name}.gpkg")
            _ogr_write(path, geoms, names, columns, driver="GPKG", layer=layer_name, promote_to_multi=True,
                       layer_metadata={"DATUM": datum.value} if datum != CRS.WGS84 else None)
            payload = _read_bytes(path)
        else:
            path = os.path.join(tmp, f"{layer_name}.shp")
            _ogr_write(path, geoms, names, columns, driver="ESRI Shapefile", layer=layer_name,
                       promote_to_multi=True, encoding="UTF-8")
            payload = _zip_shapefile(tmp, layer_name, renamed, datum)
    return payload, content_type, suffix


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _columns(rows: list[dict]) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray | None]]]:
    """Union of property names (first-seen order) and one typed column (values, null mask) each."""
    names: list[str] = []
    seen: set[str] = set()
    for props in rows:
        for key in props:
            if key not in seen:
                seen.add(key)
                names.append(str(key))
    return names, [_typed_column([props.get(name) for props in rows]) for name in names]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _typed_column(values: list[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    values = [_plain(v) for v in values]
    present = [v for v in values if v is not None]
    mask = np.array([v is None for v in values], dtype=bool)
    if present and all(isinstance(v, bool) for v in present):
        return np.array([bool(v) for v in values], dtype=bool), mask
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present) and all(
        -(2**63) <= v < 2**63 for v in present
    ):
        return np.array([v or 0 for v in values], dtype=np.int64), mask
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64), None
    return np.array([None if v is None else str(v) for v in values], dtype=object), None


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")[:limit]
    return encoded.decode("utf-8", errors="ignore")


def _shapefile_field_names(names: list[str]) -> dict[str, str]:
    """Map names longer than 10 UTF-8 bytes (or clashing) to unique short ones, deterministically.

    Names that already fit keep their name; the others are cut at a character boundary and, if
    that clashes (case-insensitively, as in dBASE), get ``_1``, ``_2``, ... in order of appearance.
    """
    used = {name.lower() for name in names if len(name.encode("utf-8")) <= _SHAPEFILE_FIELD_BYTES}
    mapping: dict[str, str] = {}
    for name in names:
        if len(name.encode("utf-8")) <= _SHAPEFILE_FIELD_BYTES:
            continue
        candidate = _truncate_utf8(name, _SHAPEFILE_FIELD_BYTES)
        number = 0
        while not candidate or candidate.lower() in used:
            number += 1
            tail = f"_{number}"
            candidate = _truncate_utf8(name, _SHAPEFILE_FIELD_BYTES - len(tail)) + tail
        used.add(candidate.lower())
        mapping[name] = candidate
    return mapping


def _ogr_write(path: str, geoms: list[Any], names: list[str],
               columns: list[tuple[np.ndarray, np.ndarray | None]], *, driver: str, layer: str,
               promote_to_multi: bool | None = None, encoding: str | None = None,
               dataset_options: dict | None = None, layer_options: dict | None = None,
               layer_metadata: dict | None = None) -> None:
    wkb = shapely.to_wkb(np.array(geoms + [None], dtype=object)[:-1], hex=False)
    present = [g for g in geoms if g is not None]
    polygonal = all(g.geom_type in ("Polygon", "MultiPolygon") for g in present)
    has_z = any(g.has_z for g in present)
    if polygonal and (promote_to_multi or not present):
        geometry_type = "MultiPolygon"
    elif present and len({g.geom_type for g in present}) == 1 and not promote_to_multi:
        geometry_type = present[0].geom_type
    else:
        geometry_type = "Unknown"
    if has_z and geometry_type != "Unknown":
        geometry_type += " Z"
    masks = [mask for _values, mask in columns]
    ogr_raw.write(
        path,
        wkb,
        [values for values, _mask in columns],
        names,
        field_mask=masks if any(m is not None for m in masks) else None,
        layer=layer,
        driver=driver,
        geometry_type=geometry_type,
        crs="EPSG:4326",
        encoding=encoding,
        promote_to_multi=promote_to_multi,
        dataset_options=dataset_options,
        layer_options=layer_options,
        layer_metadata=layer_metadata,
    )


def _geojson_with_datum(path: str, datum: CRS) -> bytes:
    raw_bytes = _read_bytes(path)
    if datum == CRS.WGS84:
        return raw_bytes
    document = json.loads(raw_bytes)
    out = {"type": document.pop("type"), "datum": datum.value, **document}
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _zip_shapefile(tmp: str, stem: str, renamed: dict[str, str], datum: CRS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            member = os.path.join(tmp, stem + ext)
            if ext == ".cpg" and not os.path.exists(member):
                archive.writestr(stem + ext, "UTF-8")
            elif os.path.exists(member):
                archive.write(member, stem + ext)
        if renamed:
            lines = [
                "Shapefile 的字段名最长 10 个字节，以下字段名已缩短 / "
                "Shapefile field names are limited to 10 bytes; these were shortened:",
                "",
                *(f"{short}\t{original}" for original, short in renamed.items()),
            ]
            archive.writestr("fields.txt", "\n".join(lines) + "\n")
        if datum != CRS.WGS84:
            archive.writestr(
                "datum.txt",
                f"坐标基准 / datum: {datum.value}\n"
                f".prj 声明为 WGS-84，实际坐标为 {datum.value} / the .prj says WGS-84; "
                f"coordinates are {datum.value}.\n",
            )
    return buffer.getvalue()
