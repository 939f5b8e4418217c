/*
 * secret: where a configured secret comes from (inline, a file, the environment) and
 * how it is read at run time. The loader fills struct secret_ref; transactions and the
 * web listener resolve it when they need the secret, and wipe it when done.
 */
#ifndef CERTPROBE_SECRET_H
#define CERTPROBE_SECRET_H

#include <stddef.h>

/* Where a secret comes from. Only SECRET_VALUE holds the secret itself. */
enum secret_source {
	SECRET_NONE = 0,
	SECRET_VALUE, /* {value: "..."} inline */
	SECRET_FILE,  /* {file: /path}: first line of the file, trailing CR/LF stripped */
	SECRET_ENV,   /* {env: NAME} */
};

struct secret_ref {
	enum secret_source source;
	char *value; /* SECRET_VALUE: the secret (wiped on free) */
	char *path;  /* SECRET_FILE */
	char *env;   /* SECRET_ENV */
};

/*
 * Resolve a secret at run time into a newly malloced NUL-terminated string (*out,
 * caller frees with secret_wipe_free()). Returns 0, or -1 with a message (never
 * containing the secret) in err.
 */
int secret_resolve(const struct secret_ref *ref, char **out, char *err, size_t errlen);

/* Overwrite then free a secret string; NULL-safe. */
void secret_wipe_free(char *s);

/* Wipe and free what ref holds and zero it; the struct itself is the caller's. NULL-safe. */
void secret_ref_clear(struct secret_ref *ref);

#endif
