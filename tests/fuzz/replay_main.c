/*
 * replay_main: a tiny driver standing in for libFuzzer when the suite is built with
 * gcc. It feeds each file named on the command line (or every file of a directory)
 * to LLVMFuzzerTestOneInput once, so the corpus is replayed under ASan/UBSan.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (argv[i][0] == '-' || stat(argv[i], &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			if (d == NULL)
				continue;
			while ((e = readdir(d)) != NULL) {
				char p[4096];
				if (e->d_name[0] == '.')
					continue;
				snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
				if (replay_file(p) == 0)
					count++;
			}
			closedir(d);
		} else if (replay_file(argv[i]) == 0) {
			count++;
		}
	}
	printf("replayed %d inputs\n", count);
	return 0;
}
