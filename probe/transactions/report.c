/* report: text and JSON renderings of a transaction result (see report.h). */
#include "transactions/report.h"

#include <string.h>

static void report_latency(FILE *out, uint64_t us)
{
	uint64_t ms = us / 1000;

	fprintf(out, "%02u:%02u:%02u.%04u (%.1f ms)", (unsigned)(ms / 3600000),
	        (unsigned)(ms / 60000 % 60), (unsigned)(ms / 1000 % 60),
	        (unsigned)(us / 100 % 10000), (double)us / 1000.0);
}

void report_text(FILE *out, const struct txn_result *r)
{
	const struct txn_status_info *st = txn_status_info(r->status);

	fprintf(out, "Target      : %s\n", r->target);
	if (txn_result_get_fact(r, "target_fqdn") != NULL) /* Test-CsPhoneBootstrap's TargetFqdn */
		fprintf(out, "TargetFqdn  : %s\n", txn_result_get_fact(r, "target_fqdn"));
	fprintf(out, "Transaction : %s (%s/%s)\n", r->name, r->type, r->protocol);
	fprintf(out, "Result      : %s\n", r->status == TXN_OK ? "Success" : "Failure");
	fprintf(out, "State       : %s\n", result_class_name(r->result));
	fprintf(out, "Latency     : ");
	report_latency(out, r->duration_us);
	fputc('\n', out);
	if (r->status == TXN_OK) {
		fprintf(out, "Error       :\n");
		fprintf(out, "Diagnosis   :\n");
	} else {
		fprintf(out, "Error       : %s: %s%s%s\n", st->code, st->description,
		        r->status_detail[0] ? " — " : "", r->status_detail);
		fprintf(out, "Diagnosis   : %s\n", st->action);
	}
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct txn_status_info *f = txn_status_info(r->findings[i].status);
		fprintf(out, "%s : %s %s: %s%s%s\n", i == 0 ? "Findings   " : "           ",
		        result_class_name(f->result), f->code, f->description,
		        r->findings[i].detail[0] ? " — " : "", r->findings[i].detail);
		fprintf(out, "              -> %s\n", f->action);
	}
	fprintf(out, "Steps       :\n");
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct txn_step_record *s = &r->steps[i];
		fprintf(out, "  %-14s %9.1f ms  %-6s %s%s%s\n", s->name,
		        (double)s->duration_us / 1000.0, s->status == TXN_OK ? "ok" : "FAILED",
		        s->status == TXN_OK ? "" : txn_status_code(s->status),
		        s->status != TXN_OK && s->detail[0] ? ": " : "", s->detail);
	}
	if (r->n_facts > 0)
		fprintf(out, "Details     :\n");
	for (size_t i = 0; i < r->n_facts; i++)
		fprintf(out, "  %-16s %s\n", r->facts[i].key, r->facts[i].value);
}

void report_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void report_json(FILE *out, const struct txn_result *r)
{
	const struct txn_status_info *st = txn_status_info(r->status);
	char ts[32];
	struct tm tm;

	gmtime_r(&r->started, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs("{\"name\":", out);
	report_json_string(out, r->name);
	fputs(",\"target\":", out);
	report_json_string(out, r->target);
	fprintf(out, ",\"type\":\"%s\",\"protocol\":\"%s\",\"started\":\"%s\"", r->type,
	        r->protocol, ts);
	fprintf(out, ",\"result\":\"%s\",\"state\":\"%s\",\"latency_seconds\":%.6f",
	        r->status == TXN_OK ? "Success" : "Failure", result_class_name(r->result),
	        (double)r->duration_us / 1e6);
	fprintf(out, ",\"status\":\"%s\",\"error\":", st->code);
	if (r->status == TXN_OK) {
		fputs("null,\"diagnosis\":null", out);
	} else {
		report_json_string(out, st->description);
		fputs(",\"error_detail\":", out);
		report_json_string(out, r->status_detail);
		fputs(",\"diagnosis\":", out);
		report_json_string(out, st->action);
	}
	fputs(",\"findings\":[", out);
	for (size_t i = 0; i < r->n_findings; i++) {
		const struct txn_status_info *f = txn_status_info(r->findings[i].status);
		fprintf(out, "%s{\"status\":\"%s\",\"state\":\"%s\",\"description\":", i ? "," : "",
		        f->code, result_class_name(f->result));
		report_json_string(out, f->description);
		fputs(",\"detail\":", out);
		report_json_string(out, r->findings[i].detail);
		fputs(",\"diagnosis\":", out);
		report_json_string(out, f->action);
		fputc('}', out);
	}
	fputs("],\"steps\":[", out);
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct txn_step_record *s = &r->steps[i];
		fprintf(out,
		        "%s{\"name\":\"%s\",\"start_seconds\":%.6f,\"duration_seconds\":%.6f,"
		        "\"status\":\"%s\",\"detail\":",
		        i ? "," : "", s->name, (double)s->start_us / 1e6,
		        (double)s->duration_us / 1e6, txn_status_code(s->status));
		report_json_string(out, s->detail);
		fputc('}', out);
	}
	fputs("],\"details\":{", out);
	for (size_t i = 0; i < r->n_facts; i++) {
		fputs(i ? "," : "", out);
		report_json_string(out, r->facts[i].key);
		fputc(':', out);
		report_json_string(out, r->facts[i].value);
	}
	fputs("}}", out);
}
