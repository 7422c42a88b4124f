"""Data files of the package (vocabularies, gazetteers, interface strings, word lists,
scaffold). A package so that a cache can name it among what its version hashes."""
