/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "tunsteerd/nft.h"
#include "lib/strbuf.h"

struct nft_sync {
	struct kernel_ops *ops;
	bool applied;			/* last is what the kernel has */
	struct nft_state last;
	char *readback;			/* "list table" when known good, or NULL */
	/* Out of sync: the last apply failed and @pending still has to go
	 * in; nft_sync_check() retries it. */
	bool failing;
	struct nft_state pending;
	int fail_err;
	unsigned int failures;		/* in a row */
	uint64_t fail_since_ms;		/* CLOCK_MONOTONIC */
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
str_elements(struct strbuf *b, const struct ts_prefix *e, size_t n)
{
	char p[TS_PREFIX_STRLEN];

	for (size_t i = 0; i < n; i++)
		strbuf_printf(b, "%s%s", i ? ", " : "", ts_prefix_format(&e[i], p, sizeof(p)));
}

char *
nft_script_full(const struct nft_state *ns)
{
	struct strbuf b = { 0 };

	/* Creating then deleting makes the delete safe when the table is
	 * absent; the whole buffer is one transaction. */
	strbuf_printf(&b, "table %s {}\ndelete table %s\ntable %s {\n",
		   KERNEL_NFT_TABLE, KERNEL_NFT_TABLE, KERNEL_NFT_TABLE);
	for (size_t i = 0; i < ns->n_sets; i++) {
		strbuf_printf(&b, "\tset %s {\n\t\ttype ipv4_addr; flags interval;\n",
			   ns->sets[i].name);
		if (ns->sets[i].n_elems) {
			strbuf_printf(&b, "\t\telements = { ");
			str_elements(&b, ns->sets[i].elems, ns->sets[i].n_elems);
			strbuf_printf(&b, " }\n");
		}
		strbuf_printf(&b, "\t}\n");
	}
	strbuf_printf(&b, "%s}\n", ns->chains ? ns->chains : "");
	return strbuf_take(&b, NULL);
}

/* Same sets (by name, in order) and same chains: elements may differ. */
static bool
same_shape(const struct nft_state *a, const struct nft_state *b)
{
	if (a->n_sets != b->n_sets)
		return false;
	for (size_t i = 0; i < a->n_sets; i++)
		if (strcmp(a->sets[i].name, b->sets[i].name) != 0)
			return false;
	return strcmp(a->chains ? a->chains : "", b->chains ? b->chains : "") == 0;
}

/* Element changes between two sorted arrays, as nft commands. */
static unsigned int
diff_set(struct strbuf *b, const char *set, const struct nft_set *old,
	 const struct nft_set *new)
{
	unsigned int n = 0;
	size_t i = 0, j = 0;
	char p[TS_PREFIX_STRLEN];

	/* Deletions first: an element and its replacement may overlap. */
	for (i = 0, j = 0; i < old->n_elems;) {
		int c = j < new->n_elems ? ts_prefix_cmp(&old->elems[i], &new->elems[j]) : -1;

		if (c == 0) {
			i++, j++;
		} else if (c < 0) {
			strbuf_printf(b, "delete element %s %s { %s }\n", KERNEL_NFT_TABLE,
				   set, ts_prefix_format(&old->elems[i++], p, sizeof(p)));
			n++;
		} else {
			j++;
		}
	}
	for (i = 0, j = 0; j < new->n_elems;) {
		int c = i < old->n_elems ? ts_prefix_cmp(&old->elems[i], &new->elems[j]) : 1;

		if (c == 0) {
			i++, j++;
		} else if (c > 0) {
			strbuf_printf(b, "add element %s %s { %s }\n", KERNEL_NFT_TABLE,
				   set, ts_prefix_format(&new->elems[j++], p, sizeof(p)));
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static int
copy_state(struct nft_state *dst, const struct nft_state *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n_sets &&
	    (dst->sets = calloc(src->n_sets, sizeof(*dst->sets))) == NULL)
		return -ENOMEM;
	dst->n_sets = src->n_sets;
	for (size_t i = 0; i < src->n_sets; i++) {
		dst->sets[i] = src->sets[i];
		dst->sets[i].elems = NULL;
		if (src->sets[i].n_elems) {
			size_t sz = src->sets[i].n_elems * sizeof(struct ts_prefix);

			if ((dst->sets[i].elems = malloc(sz)) == NULL)
				return -ENOMEM;
			memcpy(dst->sets[i].elems, src->sets[i].elems, sz);
		}
	}
	if (src->chains && (dst->chains = strdup(src->chains)) == NULL)
		return -ENOMEM;
	return 0;
}

struct nft_sync *
nft_sync_create(struct kernel_ops *ops)
{
	struct nft_sync *s = calloc(1, sizeof(*s));

	if (s)
		s->ops = ops;
	return s;
}

void
nft_sync_destroy(struct nft_sync *s)
{
	if (s == NULL)
		return;
	nft_state_free(&s->last);
	nft_state_free(&s->pending);
	free(s->readback);
	free(s);
}

static int copy_state(struct nft_state *dst, const struct nft_state *src);

/* The apply of @want failed with @err: keep it to retry, and say since
 * when we are out of sync. */
static void
note_failure(struct nft_sync *s, const struct nft_state *want, int err)
{
	struct nft_state keep;

	if (want != &s->pending) {
		if (copy_state(&keep, want) < 0) {
			nft_state_free(&keep);
			/* Without a copy, retry what we have (maybe older). */
		} else {
			nft_state_free(&s->pending);
			s->pending = keep;
		}
	}
	if (!s->failing) {
		s->failing = true;
		s->fail_since_ms = mono_ms();
		s->failures = 0;
	}
	s->failures++;
	s->fail_err = err;
}

static void
note_success(struct nft_sync *s)
{
	if (s->failing)
		log_notice("nft", "table %s applied after %u failed attempts",
			   KERNEL_NFT_TABLE, s->failures);
	s->failing = false;
	s->failures = 0;
	s->fail_err = 0;
	nft_state_free(&s->pending);
}

static void
forget(struct nft_sync *s)
{
	s->applied = false;
	nft_state_free(&s->last);
	free(s->readback);
	s->readback = NULL;
}

static int
read_back(struct nft_sync *s)
{
	char cmd[64];

	free(s->readback);
	s->readback = NULL;
	snprintf(cmd, sizeof(cmd), "list table %s", KERNEL_NFT_TABLE);
	return s->ops->nft_run(s->ops, cmd, &s->readback);
}

int
nft_sync_apply(struct nft_sync *s, const struct nft_state *want,
	       unsigned int *changes)
{
	struct strbuf b = { 0 };
	unsigned int n = 0;
	int err;

	char *script;

	if (s->applied && same_shape(&s->last, want)) {
		for (size_t i = 0; i < want->n_sets; i++)
			n += diff_set(&b, want->sets[i].name, &s->last.sets[i],
				      &want->sets[i]);
		if (n == 0) {
			if (changes)
				*changes = 0;
			return 0;
		}
		script = strbuf_take(&b, NULL);
	} else {
		script = nft_script_full(want);
		n = 1;
	}
	if (script == NULL) {
		forget(s);
		note_failure(s, want, -ENOMEM);
		return -ENOMEM;
	}
	err = s->ops->nft_run(s->ops, script, NULL);
	free(script);
	forget(s);
	if (err < 0) {
		note_failure(s, want, err);
		return err;
	}
	/* No read-back here: listing a large table costs as much as writing
	 * it, and nobody else has touched it until a foreign commit says so
	 * (nft_sync_check()). */
	if ((err = copy_state(&s->last, want)) < 0) {
		forget(s);
		note_failure(s, want, err);
		return err;
	}
	s->applied = true;
	note_success(s);
	if (changes)
		*changes = n;
	return 0;
}

/* Replace the table whole from our record, then remember how it reads. */
static int
reassert(struct nft_sync *s)
{
	struct nft_state want = s->last;
	int err;

	memset(&s->last, 0, sizeof(s->last));
	s->applied = false;
	err = nft_sync_apply(s, &want, NULL);
	nft_state_free(&want);
	if (err == 0 && (err = read_back(s)) < 0)
		forget(s);
	return err;
}

int
nft_sync_check(struct nft_sync *s)
{
	char *now = NULL, cmd[64];
	int err;

	if (s->failing) {
		/* Our last apply never took: try it again, whole. */
		struct nft_state want = s->pending;

		memset(&s->pending, 0, sizeof(s->pending));
		err = nft_sync_apply(s, &want, NULL);
		nft_state_free(&want);
		if (err == 0 && (err = read_back(s)) < 0)
			forget(s);
		return err < 0 ? err : 1;
	}
	if (!s->applied)
		return 0;
	if (s->readback == NULL) {
		/* Someone else committed and we never read our table back
		 * since our last change: we cannot tell whether it is
		 * intact, so make it so. */
		log_info("nft", "another process changed the ruleset; re-asserting %s",
			 KERNEL_NFT_TABLE);
		return reassert(s);
	}
	snprintf(cmd, sizeof(cmd), "list table %s", KERNEL_NFT_TABLE);
	err = s->ops->nft_run(s->ops, cmd, &now);
	if (err == 0 && strcmp(now, s->readback) == 0) {
		free(now);
		return 0;
	}
	free(now);
	log_notice("nft", "table %s was changed by someone else; restoring it",
		   KERNEL_NFT_TABLE);
	err = reassert(s);
	return err < 0 ? err : 1;
}

void
nft_sync_status(const struct nft_sync *s, struct nft_sync_status *st)
{
	memset(st, 0, sizeof(*st));
	st->in_sync = !s->failing;
	st->err = s->fail_err;
	st->failures = s->failures;
	st->out_of_sync_ms = s->failing ? mono_ms() - s->fail_since_ms : 0;
}

int
nft_sync_flush(struct nft_sync *s)
{
	char cmd[128];

	forget(s);
	note_success(s);
	snprintf(cmd, sizeof(cmd), "table %s {}\ndelete table %s\n",
		 KERNEL_NFT_TABLE, KERNEL_NFT_TABLE);
	return s->ops->nft_run(s->ops, cmd, NULL);
}
