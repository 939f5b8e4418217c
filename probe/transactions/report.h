/*
 * report: renders a txn_result for people (Test-CsPhoneBootstrap style: Target,
 * Result, Latency, Error, Diagnosis, then the steps) or as JSON. Reads status text
 * only from the status table.
 */
#ifndef CERTPROBE_REPORT_H
#define CERTPROBE_REPORT_H

#include <stdio.h>

#include "transactions/transaction.h"

void report_text(FILE *out, const struct txn_result *r);
/* One JSON object (no trailing newline). */
void report_json(FILE *out, const struct txn_result *r);
/* Write s as a JSON string literal, quotes included. */
void report_json_string(FILE *out, const char *s);

#endif
