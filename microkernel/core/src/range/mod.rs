//! Address ranges: mappings of segments and other ranges over virtual spans. (being written)
