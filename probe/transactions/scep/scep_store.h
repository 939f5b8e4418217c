/*
 * scep_store: the small files an enrollment keeps in its state directory (the last
 * capabilities, the key's run count, the issued certificate's paths), each a line of
 * text replaced through a temporary file and rename.
 */
#ifndef CERTPROBE_SCEP_STORE_H
#define CERTPROBE_SCEP_STORE_H

#include <stddef.h>

/* dir/file into buf (len bytes, NUL-terminated, truncated if need be). */
void scep_store_path(const char *dir, const char *file, char *buf, size_t len);
/* dir/file, trailing CR/LF stripped; 0, or -1 when unreadable or longer than len - 1. */
int scep_store_read(const char *dir, const char *file, char *buf, size_t len);
/* Replace dir/file with text and a newline (temporary file, rename); 0 or -1. */
int scep_store_write(const char *dir, const char *file, const char *text);
/*
 * Replace dir/file with len bytes of data through a 0600 temporary file, fsync and one
 * rename (a reader sees the old content or the new, never half); 0, or -1 (errno set)
 * with the file unchanged. Safe on any thread.
 */
int scep_store_write_file(const char *dir, const char *file, const char *data, size_t len);
/* Create state_dir, state_dir/txn and dir (mode 0700) when missing; 0 or -1 (errno set). */
int scep_store_mkdir(const char *state_dir, const char *dir);

#endif
