/* SPDX-License-Identifier: MIT */
/* Parsing helpers shared by the subcommands. */
#ifndef MQ_CLI_OPTIONS_H
#define MQ_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

/* Exit status for usage errors and bad input files. */
#define MQ_EXIT_USAGE 2

/*
 * Parse a size like "512M", "2G", "65536", "4k" (suffixes K, M, G, T are
 * powers of 1024; a bare number is bytes, or default_unit bytes when
 * non-zero). False on garbage or overflow.
 */
bool mq_parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* Parse a whole decimal number in [min, max]. */
bool mq_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Print "maquina: <cmd>: <message>" to stderr. */
void mq_cli_error(const char *cmd, const char *fmt, ...) MQ_PRINTF(2, 3);

#endif
