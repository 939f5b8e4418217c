/*
 * plugin_run: what check_enrollment and check_clientauth share: one transaction,
 * configured from a configuration file (-c FILE -T NAME) or from a YAML document the
 * plugin synthesised from its options (loaded by the same loader, so every check and
 * every error message is the configuration's), run once through the runner that
 * `certprobe run` uses, under -t with a hard backstop, and printed as plugin output.
 */
#ifndef CERTPROBE_PLUGIN_RUN_H
#define CERTPROBE_PLUGIN_RUN_H

#include <stdbool.h>

#include "core/bbuf.h"
#include "exporters/plugin_report.h"

struct plugin_run {
	const char *prog;    /* "check_enrollment" */
	const char *type;    /* the transaction type it runs: "enrollment" */
	const char *usage;   /* the short usage, for errors */
	const char *cfgpath; /* -c FILE, or NULL: yaml */
	const char *name;    /* -T NAME (with cfgpath; NULL: the file's only transaction of type) */
	struct bbuf yaml;    /* the synthesised configuration (without cfgpath) */
	const char *state_dir; /* -s DIR; NULL: a private temporary one (removed after), or
	                          with cfgpath and keep_cfg_state_dir, the file's */
	bool keep_cfg_state_dir;
	unsigned timeout_s;
	struct plugin_report_opts ro;
};

/* Zero pr, default timeout, days-warn 30:, yaml ready for plugin_yaml_*(). */
void plugin_run_init(struct plugin_run *pr, const char *prog, const char *type, const char *usage);

/* "key: "value"\n" at indent (spaces), value as a quoted scalar (JSON escapes). */
void plugin_yaml_str(struct bbuf *b, int indent, const char *key, const char *value);
/* "key: value\n" with value written as is (numbers, flow mappings the plugin built). */
void plugin_yaml_raw(struct bbuf *b, int indent, const char *key, const char *value);

/* Load, run and print; returns the exit code. Frees pr->yaml. */
int plugin_run_main(struct plugin_run *pr);

/* An absolute path for a file option (the loader wants absolute secret files). malloced. */
char *plugin_abs_path(const char *path);

#endif
