/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include "lib/cfgparse.h"
#include "lib/secmem.h"
#include "lib/vec.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- messages ------------------------------------------------------------ */

/*
 * @what with every byte an operator's terminal or log should not get
 * raw written as \xHH (control bytes, DEL, anything not ASCII, so no
 * invalid UTF-8 either) and '\' as "\\", as config_print() writes
 * strings.  Our own message text is printable ASCII; what this changes
 * are values echoed from the file.  NULL if memory ran out.
 */
static char *
escape_text(const char *what)
{
	size_t n = 0;
	char *out, *o;

	for (const unsigned char *q = (const unsigned char *)what; *q; q++)
		n += *q == '\\' ? 2 : (*q < 0x20 || *q >= 0x7f) ? 4 : 1;
	if ((out = o = malloc(n + 1)) == NULL)
		return NULL;
	for (const unsigned char *q = (const unsigned char *)what; *q; q++) {
		if (*q == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else if (*q < 0x20 || *q >= 0x7f) {
			snprintf(o, 5, "\\x%02x", *q);
			o += 4;
		} else {
			*o++ = (char)*q;
		}
	}
	*o = '\0';
	return out;
}

/* "FILE:LINE: FIELD: what", the parts that are there, or NULL. */
static char *
format_msg(const struct cfgp *p, int line, const char *field, const char *fmt,
	   va_list ap)
{
	char *what = NULL, *safe, *text = NULL;
	int r;

	r = vasprintf(&what, fmt, ap);
	if (r < 0)
		return NULL;
	safe = escape_text(what);
	free(what);
	if (safe == NULL)
		return NULL;
	if (line > 0 && field)
		r = asprintf(&text, "%s:%d: %s: %s", p->file, line, field, safe);
	else if (line > 0)
		r = asprintf(&text, "%s:%d: %s", p->file, line, safe);
	else if (field)
		r = asprintf(&text, "%s: %s: %s", p->file, field, safe);
	else
		r = asprintf(&text, "%s: %s", p->file, safe);
	free(safe);
	return r < 0 ? NULL : text;
}

/* Add a formatted message to @v (errors or warnings); out of memory is
 * remembered in p->oom. */
static void
add_msg(struct cfgp *p, struct cfgp_msg **v, size_t *n, size_t *cap,
	int line, const char *field, const char *fmt, va_list ap)
{
	char *text = format_msg(p, line, field, fmt, ap);

	if (text == NULL ||
	    VEC_PUSH(*v, *n, *cap, ((struct cfgp_msg){ line, p->seq, text })) < 0) {
		free(text);
		p->oom = true;
		return;
	}
	p->seq++;
}

void
cfgp_err(struct cfgp *p, int line, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(p, &p->msgs, &p->n_msgs, &p->cap_msgs, line, field, fmt, ap);
	va_end(ap);
}

void
cfgp_warn(struct cfgp *p, int line, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_msg(p, &p->warns, &p->n_warns, &p->cap_warns, line, field, fmt, ap);
	va_end(ap);
}

bool
cfgp_failed(const struct cfgp *p)
{
	return p->n_msgs > 0 || p->oom;
}

static int
msg_cmp(const void *a, const void *b)
{
	const struct cfgp_msg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hand @v (@n messages) over in file order, to *@out or to nobody. */
static void
hand_over(struct cfgp_msg *v, size_t n, char ***out, size_t *out_n,
	  bool *oom)
{
	char **o = NULL;

	if (n)			/* qsort(NULL, 0, ...) is undefined */
		qsort(v, n, sizeof(*v), msg_cmp);
	if (out && n) {
		o = reallocarray(*out, *out_n + n + 1, sizeof(*o));
		if (o == NULL)
			*oom = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (o)
			o[(*out_n)++] = v[i].text;
		else
			free(v[i].text);
	}
	if (o)
		*out = o;
	free(v);
}

void
cfgp_flush_warnings(struct cfgp *p, char ***msgs, size_t *n)
{
	hand_over(p->warns, p->n_warns, msgs, n, &p->oom);
	p->warns = NULL;
	p->n_warns = p->cap_warns = 0;
}

void
cfgp_flush(struct cfgp *p, char ***msgs, size_t *n)
{
	bool oom = false;

	if (p->oom)
		cfgp_err(p, 0, NULL, "out of memory");
	hand_over(p->msgs, p->n_msgs, msgs, n, &oom);
	p->msgs = NULL;
	p->n_msgs = p->cap_msgs = 0;
	cfgp_flush_warnings(p, NULL, NULL);
	for (size_t i = 0; i < p->n_secrets; i++)
		secmem_free_str(p->secrets[i].value);
	free(p->secrets);
	p->secrets = NULL;
	p->n_secrets = p->cap_secrets = 0;
}

void
config_errors_free(struct config_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* --- fields and typed access --------------------------------------------- */

void
cfgp_fieldf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, CFGP_FIELD_MAX, fmt, ap);
	va_end(ap);
}

void
cfgp_field(char *buf, const char *path, const char *key)
{
	if (*path)
		cfgp_fieldf(buf, "%s.%s", path, key);
	else
		cfgp_fieldf(buf, "%s", key);
}

int
cfgp_line(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a floating-point number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array [ ... ]";
	case CONFIG_TYPE_LIST: return "a list ( ... )";
	default: return "nothing";
	}
}

void
cfgp_type_err(struct cfgp *p, const config_setting_t *s, const char *field,
	      const char *want)
{
	cfgp_err(p, cfgp_line(s), field, "expected %s, not %s", want,
		 type_name(config_setting_type(s)));
}

void
cfgp_check_keys(struct cfgp *p, const config_setting_t *s, const char *path,
		const char *const *known)
{
	char f[CFGP_FIELD_MAX];
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned int)i);
		const char *name = config_setting_name(m);
		const char *const *k;

		for (k = known; *k; k++)
			if (name && strcmp(name, *k) == 0)
				break;
		if (*k)
			continue;
		cfgp_field(f, path, name ? name : "?");
		cfgp_err(p, cfgp_line(m), f, "unknown setting");
	}
}

void
cfgp_required(struct cfgp *p, enum cfgp_got g, const config_setting_t *grp,
	      const char *path, const char *key)
{
	char f[CFGP_FIELD_MAX];

	if (g != CFGP_NONE)
		return;
	cfgp_field(f, path, key);
	cfgp_err(p, cfgp_line(grp), f, "required");
}

static enum cfgp_got
get_member(struct cfgp *p, const config_setting_t *grp, const char *path,
	   const char *key, int type, const char *want, config_setting_t **out)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char f[CFGP_FIELD_MAX];
	int t;

	*out = s;
	if (!s)
		return CFGP_NONE;
	t = config_setting_type(s);
	if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
		return CFGP_OK;
	cfgp_field(f, path, key);
	cfgp_type_err(p, s, f, want);
	return CFGP_BAD;
}

enum cfgp_got
cfgp_string(struct cfgp *p, const config_setting_t *grp, const char *path,
	    const char *key, const char **val, int *line)
{
	config_setting_t *s;
	enum cfgp_got g = get_member(p, grp, path, key, CONFIG_TYPE_STRING,
				     "a string", &s);

	if (g == CFGP_OK) {
		*val = config_setting_get_string(s);
		*line = cfgp_line(s);
	}
	return g;
}

enum cfgp_got
cfgp_secret(struct cfgp *p, const config_setting_t *grp, const char *path,
	    const char *key, char **val, int *line)
{
	config_setting_t *s;
	char f[CFGP_FIELD_MAX];
	enum cfgp_got g = get_member(p, grp, path, key, CONFIG_TYPE_STRING,
				     "a string", &s);

	if (g != CFGP_OK)
		return g;
	*line = cfgp_line(s);
	cfgp_field(f, path, key);
	for (size_t i = 0; i < p->n_secrets; i++) {
		struct cfgp_secret *e = &p->secrets[i];

		if (e->line != *line || strcmp(e->key, key) != 0)
			continue;
		if (e->err) {
			cfgp_err(p, *line, f, "%s", e->err);
			return CFGP_BAD;
		}
		if (!e->value)
			break;		/* taken already */
		*val = e->value;
		e->value = NULL;
		return CFGP_OK;
	}
	/* A string our scanner did not take out: libconfig's copy is never
	 * used as a secret.  Not expected; cfgp_parse() says why it could. */
	cfgp_err(p, *line, f, "could not be read as a secret; write it as "
		 "%s = \"...\"; with the key on the line it starts", key);
	return CFGP_BAD;
}

enum cfgp_got
cfgp_int(struct cfgp *p, const config_setting_t *grp, const char *path,
	 const char *key, long long min, long long max, long long *val,
	 int *line)
{
	config_setting_t *s;
	char f[CFGP_FIELD_MAX];
	enum cfgp_got g = get_member(p, grp, path, key, CONFIG_TYPE_INT,
				     "an integer", &s);
	long long v;

	if (g != CFGP_OK)
		return g;
	v = config_setting_get_int64(s);
	*line = cfgp_line(s);
	if (v < min || v > max) {
		cfgp_field(f, path, key);
		cfgp_err(p, *line, f, "%lld is out of range (%lld..%lld)", v,
			 min, max);
		return CFGP_BAD;
	}
	*val = v;
	return CFGP_OK;
}

enum cfgp_got
cfgp_bool(struct cfgp *p, const config_setting_t *grp, const char *path,
	  const char *key, bool *val)
{
	config_setting_t *s;
	enum cfgp_got g = get_member(p, grp, path, key, CONFIG_TYPE_BOOL,
				     "a boolean (true or false)", &s);

	if (g == CFGP_OK)
		*val = config_setting_get_bool(s);
	return g;
}

enum cfgp_got
cfgp_group(struct cfgp *p, const config_setting_t *grp, const char *path,
	   const char *key, config_setting_t **val)
{
	return get_member(p, grp, path, key, CONFIG_TYPE_GROUP,
			  "a group { ... }", val);
}

enum cfgp_got
cfgp_list(struct cfgp *p, const config_setting_t *grp, const char *path,
	  const char *key, config_setting_t **val)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char f[CFGP_FIELD_MAX];

	*val = s;
	if (!s)
		return CFGP_NONE;
	if (config_setting_is_list(s) ||
	    (config_setting_is_array(s) && config_setting_length(s) == 0))
		return CFGP_OK;
	cfgp_field(f, path, key);
	cfgp_type_err(p, s, f, "a list ( ... )");
	return CFGP_BAD;
}

enum cfgp_got
cfgp_strings(struct cfgp *p, const config_setting_t *grp, const char *path,
	     const char *key, config_setting_t **val)
{
	config_setting_t *s = config_setting_get_member(grp, key);
	char f[CFGP_FIELD_MAX];

	*val = s;
	if (!s)
		return CFGP_NONE;
	if (config_setting_is_array(s) || config_setting_is_list(s))
		return CFGP_OK;
	cfgp_field(f, path, key);
	cfgp_type_err(p, s, f, "an array [ ... ] of strings");
	return CFGP_BAD;
}

const char *
cfgp_elem_string(struct cfgp *p, const config_setting_t *arr, int i,
		 const char *field)
{
	const config_setting_t *e = config_setting_get_elem(arr, (unsigned int)i);

	if (config_setting_type(e) != CONFIG_TYPE_STRING) {
		cfgp_type_err(p, e, field, "a string");
		return NULL;
	}
	return config_setting_get_string(e);
}

/* --- values ------------------------------------------------------------ */

bool
cfgp_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

bool
cfgp_host(struct cfgp *p, int line, const char *field, const char *text,
	  struct in_addr *out)
{
	uint32_t h;

	if (inet_pton(AF_INET, text, out) != 1) {
		cfgp_err(p, line, field, "\"%s\" is not an IPv4 address%s", text,
			 strchr(text, '/') ? " (no /length here)" : "");
		return false;
	}
	h = ntohl(out->s_addr);
	if (h == 0 || h == UINT32_MAX || (h >> 28) == 0xe) {
		cfgp_err(p, line, field, "%s is not a unicast address", text);
		return false;
	}
	return true;
}

bool
cfgp_prefix(struct cfgp *p, int line, const char *field, const char *text,
	    struct ts_prefix *out)
{
	return cfgp_prefix_af(p, line, field, text, AF_INET, out);
}

bool
cfgp_prefix_af(struct cfgp *p, int line, const char *field, const char *text,
	       int family, struct ts_prefix *out)
{
	char b[TS_PREFIX_STRLEN], b2[TS_PREFIX_STRLEN];
	int r = ts_prefix_parse(text, true, out);

	if (r == -EDOM) {
		struct ts_prefix m = *out;

		ts_prefix_mask(&m);
		cfgp_err(p, line, field, "%s has host bits set; did you mean "
			 "%s?", ts_prefix_format(out, b, sizeof(b)),
			 ts_prefix_format(&m, b2, sizeof(b2)));
		return false;
	}
	if (r != 0 || (family != AF_UNSPEC && out->family != family)) {
		cfgp_err(p, line, field, "\"%s\" is not an %s prefix", text,
			 family == AF_INET ? "IPv4" : family == AF_INET6 ?
			 "IPv6" : "IPv4 or IPv6");
		return false;
	}
	return true;
}

/* --- reading and parsing ------------------------------------------------- */

/*
 * Which file a reader's messages are about: the config file itself
 * (@path NULL: no line, no field; the file is the parse's own name) or a
 * file it names, reported at the @line of @field with the path quoted.
 */
struct file_ref {
	int line;
	const char *field;
	const char *path;
};

static void file_err(struct cfgp *p, const struct file_ref *r,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
file_err(struct cfgp *p, const struct file_ref *r, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->oom = true;
		return;
	}
	if (r->path)
		cfgp_err(p, r->line, r->field, "\"%s\": %s", r->path, what);
	else
		cfgp_err(p, 0, NULL, "%s", what);
	free(what);
}

/* The secrets rule of cfgp_check_secrets(), for either kind of file. */
static void
check_secrets(struct cfgp *p, const struct file_ref *r, const struct stat *st,
	      const char *what)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		file_err(p, r, "holds secrets (%s) but is owned by uid %lu, not "
			 "root or uid %lu; chown it", what,
			 (unsigned long)st->st_uid, (unsigned long)geteuid());
	if (st->st_mode & 077)
		file_err(p, r, "holds secrets (%s) but is readable by others "
			 "(mode %04lo); chmod 600 it", what,
			 (unsigned long)st->st_mode & 07777);
}

/*
 * Open @r (with @oflags added), check it is a regular file (and, with
 * @what, the secrets rule on that very descriptor) and read at most @max
 * bytes of it into secret memory.
 */
static char *
read_file(struct cfgp *p, const struct file_ref *r, const char *path,
	  int oflags, const char *what, size_t max, size_t *lenp,
	  struct stat *stp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	/* One descriptor for both fstat() and read(): the mode checked is
	 * that of the file whose secrets are read.  O_NONBLOCK: opening a
	 * FIFO would otherwise wait for a writer, and -n, start and reload
	 * with it; it is refused as not a regular file right after. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | oflags);

	if (fd < 0) {
		if (errno == ELOOP && (oflags & O_NOFOLLOW))
			file_err(p, r, "is a symbolic link; name the file itself");
		else
			file_err(p, r, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		file_err(p, r, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		file_err(p, r, "not a regular file");
		goto fail;
	}
	if (what) {
		size_t before = p->n_msgs;

		check_secrets(p, r, &st, what);
		if (p->n_msgs != before)
			goto fail;	/* not even read */
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? 2 * cap : 8192;
			/* Not realloc(): the old buffer may hold secrets and
			 * must be zeroed before it is let go.  Secret memory:
			 * never in a core dump (secmem.h). */
			if ((nb = secmem_alloc(cap)) == NULL) {
				p->oom = true;
				goto fail;
			}
			if (buf)
				memcpy(nb, buf, len);
			cfgp_free_text(buf, len);
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			file_err(p, r, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			file_err(p, r, "larger than %zu bytes", max);
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	if (stp)
		*stp = st;
	return buf;
fail:
	close(fd);
	cfgp_free_text(buf, len);
	return NULL;
}

char *
cfgp_read_file(struct cfgp *p, const char *path, size_t *lenp,
	       struct stat *stp)
{
	static const struct file_ref self = { 0, NULL, NULL };

	return read_file(p, &self, path, 0, NULL, CFGP_FILE_MAX, lenp, stp);
}

char *
cfgp_read_secret_file(struct cfgp *p, int line, const char *field,
		      const char *path, const char *what, size_t max,
		      size_t *lenp)
{
	const struct file_ref named = { line, field, path };

	return read_file(p, &named, path, O_NOFOLLOW, what, max, lenp, NULL);
}

void
cfgp_free_text(char *text, size_t len)
{
	(void)len;		/* secmem_free() wipes the whole mapping */
	secmem_free(text);
}

void
cfgp_wipe_strings(config_setting_t *s)
{
	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		/* libconfig's own copy; it frees it unwiped. */
		char *v = (char *)config_setting_get_string(s);

		if (v)
			explicit_bzero(v, strlen(v));
		return;
	}
	if (!config_setting_is_aggregate(s))
		return;
	for (int i = 0, n = config_setting_length(s); i < n; i++)
		cfgp_wipe_strings(config_setting_get_elem(s, (unsigned int)i));
}

void
cfgp_destroy(config_t *cf)
{
	cfgp_wipe_strings(config_root_setting(cf));
	config_destroy(cf);
}

void
cfgp_check_secrets(struct cfgp *p, const struct stat *st, const char *what)
{
	static const struct file_ref self = { 0, NULL, NULL };

	check_secrets(p, &self, st, what);
}

/* libconfig 1.5 keeps an integer without an "L" suffix in 32 bits and
 * silently wraps larger ones (4294967297 reads as 1). */
static bool
libconfig_wraps_ints(void)
{
	config_t cf;
	bool wraps = true;

	config_init(&cf);
	if (config_read_string(&cf, "a = 4294967297;")) {
		const config_setting_t *s = config_lookup(&cf, "a");

		wraps = !s || config_setting_get_int64(s) != 4294967297LL;
	}
	config_destroy(&cf);
	return wraps;
}

/* Find @include (refused: its file would escape our line numbers), a
 * comment left open at the end and, with @check_ints, integer literals
 * libconfig would wrap. */
static void
scan_text(struct cfgp *p, const char *t, bool check_ints)
{
	int line = 1;
	size_t i = 0;

	while (t[i]) {
		char c = t[i];

		if (c == '\n') {
			line++;
			i++;
		} else if (c == '#' || (c == '/' && t[i + 1] == '/')) {
			while (t[i] && t[i] != '\n')
				i++;
		} else if (c == '/' && t[i + 1] == '*') {
			int open = line;

			for (i += 2; t[i] && !(t[i] == '*' && t[i + 1] == '/'); i++)
				if (t[i] == '\n')
					line++;
			if (t[i])
				i += 2;
			else	/* libconfig takes the rest as comment: a
				 * truncated file would pass. */
				cfgp_err(p, open, NULL, "syntax error: comment "
					 "\"/*\" opened here is never closed");
		} else if (c == '"') {
			for (i++; t[i] && t[i] != '"'; i++) {
				if (t[i] == '\\' && t[i + 1])
					i++;
				if (t[i] == '\n')
					line++;
			}
			if (t[i])
				i++;
		} else if (c == '@') {
			if (strncmp(t + i, "@include", 8) == 0)
				cfgp_err(p, line, NULL, "@include is not supported");
			i++;
		} else if (isalpha((unsigned char)c) || c == '*' || c == '_') {
			while (t[i] && (isalnum((unsigned char)t[i]) ||
					strchr("-_*", t[i]) != NULL))
				i++;
		} else if (!check_ints) {
			i++;
		} else if (isdigit((unsigned char)c) ||
			   ((c == '-' || c == '+') && isdigit((unsigned char)t[i + 1]))) {
			size_t start = i;
			bool hex = false, flt = false;
			char num[32];

			if (c == '-' || c == '+')
				i++;
			if (t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X')) {
				hex = true;
				for (i += 2; isxdigit((unsigned char)t[i]); i++)
					;
			} else {
				while (isdigit((unsigned char)t[i]))
					i++;
				while (t[i] && (isdigit((unsigned char)t[i]) ||
						strchr(".eE", t[i]) ||
						((t[i] == '-' || t[i] == '+') &&
						 strchr("eE", t[i - 1])))) {
					flt = true;
					i++;
				}
			}
			if (flt || t[i] == 'L') {
				if (t[i] == 'L')
					i++;
				continue;
			}
			if (i - start < sizeof(num)) {
				long long v;

				memcpy(num, t + start, i - start);
				num[i - start] = '\0';
				errno = 0;
				v = strtoll(num, NULL, hex ? 16 : 10);
				if (errno == 0 && v >= INT32_MIN && v <= INT32_MAX)
					continue;
			}
			cfgp_err(p, line, NULL, "syntax error: integer %.*s does "
				 "not fit in 32 bits; write %.*sL",
				 (int)(i - start), t + start, (int)(i - start),
				 t + start);
		} else {
			i++;
		}
	}
}

/* --- secrets: taken out before libconfig sees the text ----------------- */

/*
 * libconfig's lexical rules, as its scanner.l has them (1.5 and 1.7;
 * tests/unit/lib/check_cfgparse.c compares our decoding with the
 * installed library's): blanks are space, tab, CR, FF and newline;
 * comments are "#" or "//" to the end of the line and "/" "*" to "*" "/";
 * a name is [A-Za-z*][-A-Za-z0-9_*]*; "=" and ":" are the same token;
 * adjacent string literals are one string.
 */

/* Past the blanks and comments at @i, counting newlines into *@line. */
static size_t
skip_blank(const char *t, size_t i, int *line)
{
	for (;;) {
		if (t[i] == '\n') {
			(*line)++;
			i++;
		} else if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' ||
			   t[i] == '\f') {
			i++;
		} else if (t[i] == '#' || (t[i] == '/' && t[i + 1] == '/')) {
			while (t[i] && t[i] != '\n')
				i++;
		} else if (t[i] == '/' && t[i + 1] == '*') {
			for (i += 2; t[i] && !(t[i] == '*' && t[i + 1] == '/'); i++)
				if (t[i] == '\n')
					(*line)++;
			if (t[i])
				i += 2;
		} else {
			return i;
		}
	}
}

static bool
name_start(char c)
{
	return isalpha((unsigned char)c) || c == '*';
}

static bool
name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '*';
}

static size_t
digits(const char *t, size_t i, bool hex)
{
	size_t n = 0;

	while (hex ? isxdigit((unsigned char)t[i + n]) :
		     isdigit((unsigned char)t[i + n]))
		n++;
	return n;
}

/* Length of libconfig's [eE][-+]?[0-9]+ at @t + @i, or 0. */
static size_t
exponent(const char *t, size_t i)
{
	size_t n;

	if (t[i] != 'e' && t[i] != 'E')
		return 0;
	n = 1 + (t[i + 1] == '-' || t[i + 1] == '+');
	return digits(t, i + n, false) ? n + digits(t, i + n, false) : 0;
}

/*
 * Length of the longest number token at @t + @i, as flex picks it among
 * libconfig's integer, integer64, hex, hex64 and float rules, or 0.  It
 * matters where a number runs into a name: "0x1psk" is 0x1 and psk.
 */
static size_t
number_len(const char *t, size_t i)
{
	size_t s = t[i] == '-' || t[i] == '+', d = digits(t, i + s, false);
	size_t best = 0, n;

	if (d) {				/* integer, integer64 */
		n = s + d;
		if (t[i + n] == 'L')
			n += 1 + (t[i + n + 1] == 'L');
		best = n;
	}
	if (!s && t[i] == '0' && (t[i + 1] == 'x' || t[i + 1] == 'X') &&
	    digits(t, i + 2, true)) {		/* hex, hex64 */
		n = 2 + digits(t, i + 2, true);
		if (t[i + n] == 'L')
			n += 1 + (t[i + n + 1] == 'L');
		best = n > best ? n : best;
	}
	if (t[i + s + d] == '.') {		/* [0-9]*\.[0-9]*(exp)? */
		n = s + d + 1 + digits(t, i + s + d + 1, false);
		n += exponent(t, i + n);
		best = n > best ? n : best;
	}
	if (d && (n = exponent(t, i + s + d)) > 0)	/* [0-9]+(exp) */
		best = s + d + n > best ? s + d + n : best;
	return best;
}

static int
hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

/*
 * The string literal whose opening quote is at @t + @i, decoded as
 * libconfig's scanner decodes it: \n \r \t \f \\ \" and \xHH (or \XHH);
 * any other backslash stands for itself.  Appends to @out (when not NULL;
 * room for the literal's length) at *@n and sets *@nul for a \x00, which
 * libconfig drops.  Returns the index past the closing quote, or 0 if it
 * is never closed.
 */
static size_t
literal(const char *t, size_t i, int *line, char *out, size_t *n, bool *nul)
{
	for (i++; t[i] != '"'; i++) {
		char c = t[i];

		if (c == '\0')
			return 0;
		if (c == '\n')
			(*line)++;
		if (c == '\\') {
			switch (t[i + 1]) {
			case 'n': c = '\n'; i++; break;
			case 'r': c = '\r'; i++; break;
			case 't': c = '\t'; i++; break;
			case 'f': c = '\f'; i++; break;
			case '\\': i++; break;
			case '"': c = '"'; i++; break;
			case 'x':
			case 'X':
				if (!isxdigit((unsigned char)t[i + 2]) ||
				    !isxdigit((unsigned char)t[i + 3]))
					break;
				c = (char)(hexval(t[i + 2]) << 4 | hexval(t[i + 3]));
				i += 3;
				if (c == '\0') {
					*nul = true;
					continue;
				}
				break;
			default:
				break;		/* a backslash as itself */
			}
		}
		if (out)
			out[(*n)++] = c;
	}
	return i + 1;
}

static const char *
secret_key(const char *t, size_t i, size_t j, const char *const *keys)
{
	for (; *keys; keys++)
		if (strlen(*keys) == j - i && memcmp(t + i, *keys, j - i) == 0)
			return *keys;
	return NULL;
}

/*
 * Take out the value of @key, the string literals from @t + @i (an
 * opening quote) on, whose key is on line @kline: decode them into a new
 * entry of @p's table, then leave "" and blanks in their place with every
 * newline kept.  Returns the index past them, 0 on a failure (reported).
 */
static size_t
take_secret(struct cfgp *p, char *t, size_t i, int *line, const char *key,
	    int kline)
{
	struct cfgp_secret e = { .key = key, .line = kline };
	size_t end = i, k, n = 0;
	int l = *line;
	bool nul = false;

	for (size_t q = 0; q < p->n_secrets; q++)
		if (p->secrets[q].line == kline && strcmp(p->secrets[q].key, key) == 0) {
			cfgp_err(p, kline, key, "a second %s on this line; give "
				 "each its own line", key);
			return 0;
		}
	for (k = i; t[k] == '"'; k = skip_blank(t, end, &l)) {
		if ((end = literal(t, k, &l, NULL, &n, &nul)) == 0) {
			cfgp_err(p, kline, key, "string is never closed");
			return 0;
		}
	}
	if ((e.value = secmem_alloc(end - i + 1)) == NULL) {
		p->oom = true;
		return 0;
	}
	for (k = literal(t, i, line, e.value, &n, &nul); k < end;
	     k = literal(t, k, line, e.value, &n, &nul))
		k = skip_blank(t, k, line);
	if (nul) {
		secmem_free_str(e.value);
		e.value = NULL;
		e.err = "must not contain a NUL byte (an x00 escape)";
	}
	if (VEC_PUSH(p->secrets, p->n_secrets, p->cap_secrets, e) < 0) {
		secmem_free_str(e.value);
		p->oom = true;
		return 0;
	}
	t[i] = t[i + 1] = '"';
	for (k = i + 2; k < end; k++)
		if (t[k] != '\n')
			t[k] = ' ';
	return end;
}

/* Every string value of a key in @keys taken out of @t (take_secret()). */
static void
scan_secrets(struct cfgp *p, char *t, const char *const *keys)
{
	int line = 1;
	size_t i = 0;

	while (t[i = skip_blank(t, i, &line)]) {
		size_t j = i, n;
		const char *key;
		int l, kline = line;
		bool nul;

		if (t[i] == '"') {
			/* Never closed: libconfig would take the rest of the
			 * text, secrets and all, as this string. */
			if ((i = literal(t, i, &line, NULL, &n, &nul)) == 0)
				cfgp_err(p, kline, NULL, "syntax error: string "
					 "opened here is never closed");
			if (i == 0)
				return;
			continue;
		}
		if ((n = number_len(t, i)) > 0) {
			i += n;
			continue;
		}
		if (!name_start(t[i])) {
			i++;
			continue;
		}
		while (name_char(t[j]))
			j++;
		key = secret_key(t, i, j, keys);
		i = j;
		if (!key)
			continue;
		l = line;
		j = skip_blank(t, j, &l);
		if (t[j] != '=' && t[j] != ':')
			continue;
		j = skip_blank(t, j + 1, &l);
		if (t[j] != '"')
			continue;	/* not a string: refused as its type */
		line = l;
		if ((i = take_secret(p, t, j, &line, key, kline)) == 0)
			return;
	}
}

bool
cfgp_parse(struct cfgp *p, config_t *cf, const char *text, size_t len,
	   const char *const *secret_keys)
{
	char *work = NULL;
	bool ok = false;

	const char *nul = memchr(text, '\0', len);

	if (nul) {
		int line = 1;

		for (const char *q = text; q < nul; q++)
			line += *q == '\n';
		cfgp_err(p, line, NULL, "syntax error: NUL byte in the file");
		return false;
	}
	scan_text(p, text, libconfig_wraps_ints());
	if (cfgp_failed(p))
		return false;
	if (secret_keys && *secret_keys) {
		/* Secret memory: the copy holds the secrets until they are
		 * taken out of it. */
		if ((work = secmem_alloc(len + 1)) == NULL) {
			p->oom = true;
			return false;
		}
		memcpy(work, text, len);
		scan_secrets(p, work, secret_keys);
		if (cfgp_failed(p))
			goto out;
		text = work;
	}
	if (!config_read_string(cf, text)) {
		const char *why = config_error_text(cf);

		/* libconfig's text is often just "syntax error". */
		if (!why || strcmp(why, "syntax error") == 0)
			cfgp_err(p, config_error_line(cf), NULL, "syntax error");
		else
			cfgp_err(p, config_error_line(cf), NULL,
				 "syntax error: %s", why);
		goto out;
	}
	ok = true;
out:
	secmem_free(work);
	return ok;
}

void
cfgp_print_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}
