/*
 * cfg_mask: which bytes of a configuration hold a secret, so that no error echo ever
 * prints one. Driven by the key tables alone: a key flagged CFG_SECRET masks its value,
 * and a mapping whose table holds such a key masks its unknown keys and any value of the
 * wrong shape. No key name is known here. Config-internal (the loader calls it when it
 * prints errors).
 */
#ifndef CERTPROBE_CFG_MASK_H
#define CERTPROBE_CFG_MASK_H

#include <stddef.h>

#include "config/cfg_source.h"

struct cfg_key;

/*
 * Find every byte range of src that holds a secret, as the tables rooted at root
 * describe them, into *masks (malloced, sorted and disjoint; the caller frees it; NULL
 * when none) and *nmasks. Works on libyaml's token stream, so text that does not parse
 * is masked too: after a scanner error, the rest of the text is masked from the first
 * place a secret could begin. Values under keys no table knows are judged by name: a
 * key that is a secret, or holds one, in any table reachable from root (every
 * registered transaction type's included) is treated as such. src must be indexed
 * (cfg_source_index_chars).
 */
void cfg_mask_compute(const struct cfg_source *src, const struct cfg_key *root,
                      struct cfg_span **masks, size_t *nmasks);

#endif
