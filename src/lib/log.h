/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging for every tunsteer program.
 *
 * One line per event, with a subsystem tag so an operator can grep for
 * "tunnel" or "kernel".  The daemon logs to syslog (which the journal picks
 * up); with -f or -d, or in the CLI and tests, it logs to stderr, each
 * line prefixed with its syslog priority ("<4>", sd-daemon(3)) when
 * stderr is the journal.  log_warn()
 * appends strerror(errno), log_warnx() does not (the OpenBSD convention).
 */
#ifndef TUNSTEER_LOG_H
#define TUNSTEER_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Start logging as @ident; to stderr if @to_stderr, else to syslog. */
void log_init(const char *ident, bool to_stderr, enum log_level level);
void log_set_level(enum log_level level);

/* Is stderr the journal's stream: $JOURNAL_STREAM names its device and
 * inode (systemd.exec(5))?  Read by log_init(). */
bool log_stderr_is_journal(void);

/* The one vocabulary of levels, for the config files and log-level. */
#define LOG_LEVEL_NAMES "err, warning, notice, info, debug"
enum log_level log_get_level(void);

/* Parse one of LOG_LEVEL_NAMES (or "warn", the old name of "warning");
 * -EINVAL otherwise. */
int log_level_parse(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_warn(subsys, ...)   log_errno(LOG_LVL_WARN, subsys, __VA_ARGS__)
#define log_warnx(subsys, ...)  log_msg(LOG_LVL_WARN, subsys, __VA_ARGS__)
#define log_notice(subsys, ...) log_msg(LOG_LVL_NOTICE, subsys, __VA_ARGS__)
#define log_info(subsys, ...)   log_msg(LOG_LVL_INFO, subsys, __VA_ARGS__)
#define log_debug(subsys, ...)  log_msg(LOG_LVL_DEBUG, subsys, __VA_ARGS__)

/* Like log_msg() with ": strerror(errno)" appended. */
void log_errno(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Only for start-up failures and broken invariants: log and exit(1). */
noreturn void fatal(const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
noreturn void fatalx(const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
