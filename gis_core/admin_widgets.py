"""GeoDjango admin map widget served from our own static files (Django's default loads OpenLayers
from a CDN, which the platform never uses at run time)."""
from django.contrib.gis.forms.widgets import OSMWidget


class LocalOSMWidget(OSMWidget):
    """Django's OSM widget with OpenLayers from static/vendor/ol (npm `ol`, pinned in package.json).

    The OSM raster base layer needs the internet; without it the geometry still shows and edits
    on a blank background."""

    class Media:
        extend = False
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "gis/js/OLMapWidget.js")
