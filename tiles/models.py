"""Models of tiles. Vector tiles (MVT) and TileJSON for every map layer (TL-*)."""
