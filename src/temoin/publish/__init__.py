"""Publishing: `temoin build` (engine, gates, manifest, swap) and the signed manifest."""
