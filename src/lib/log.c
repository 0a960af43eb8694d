/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <syslog.h>

#include "lib/log.h"

static struct {
	const char *ident;
	bool to_stderr;
	bool journal;		/* stderr is the journal: "<N>" prefixes */
	enum log_level level;
} log_state = { "tunsteer", true, false, LOG_LVL_NOTICE };

static const struct {
	const char *name;
	int syslog_prio;
} log_levels[] = {
	[LOG_LVL_ERR] = { "err", LOG_ERR },
	[LOG_LVL_WARN] = { "warning", LOG_WARNING },
	[LOG_LVL_NOTICE] = { "notice", LOG_NOTICE },
	[LOG_LVL_INFO] = { "info", LOG_INFO },
	[LOG_LVL_DEBUG] = { "debug", LOG_DEBUG },
};

bool
log_stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	/* "DEV:INODE" of the stream systemd connected (systemd.exec(5)); it
	 * is inherited, so only a match with our own stderr counts. */
	if (js == NULL || sscanf(js, "%llu:%llu%n", &dev, &ino, &n) != 2 ||
	    js[n] != '\0' || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, bool to_stderr, enum log_level level)
{
	log_state.ident = ident;
	log_state.to_stderr = to_stderr;
	log_state.journal = to_stderr && log_stderr_is_journal();
	log_state.level = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_level(enum log_level level)
{
	log_state.level = level;
}

enum log_level
log_get_level(void)
{
	return log_state.level;
}

int
log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcmp(name, log_levels[i].name) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	/* The old name, still understood. */
	if (strcmp(name, "warn") == 0) {
		*level = LOG_LVL_WARN;
		return 0;
	}
	return -EINVAL;
}

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(log_levels) / sizeof(log_levels[0]))
		return "?";
	return log_levels[level].name;
}

static void
log_vemit(enum log_level level, const char *subsys, const char *suffix,
	  const char *fmt, va_list ap)
{
	char line[1024];

	if (level > log_state.level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_state.journal)	/* sd-daemon(3)'s prefix: the priority */
		fprintf(stderr, "<%d>%s: %s: %s%s%s\n",
			log_levels[level].syslog_prio, log_state.ident, subsys,
			line, suffix ? ": " : "", suffix ? suffix : "");
	else if (log_state.to_stderr)
		fprintf(stderr, "%s: %s: %s%s%s\n", log_state.ident, subsys,
			line, suffix ? ": " : "", suffix ? suffix : "");
	else
		syslog(log_levels[level].syslog_prio, "%s: %s%s%s", subsys,
		       line, suffix ? ": " : "", suffix ? suffix : "");
}

void
log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, subsys, NULL, fmt, ap);
	va_end(ap);
}

void
log_errno(enum log_level level, const char *subsys, const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vemit(level, subsys, err, fmt, ap);
	va_end(ap);
}

noreturn void
fatal(const char *subsys, const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, subsys, err, fmt, ap);
	va_end(ap);
	exit(1);
}

noreturn void
fatalx(const char *subsys, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERR, subsys, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
