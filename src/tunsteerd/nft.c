/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "lib/daemon.h"
#include "lib/log.h"
#include "tunsteerd/nft.h"
#include "lib/strbuf.h"

struct nft_sync {
	struct kernel_ops *ops;
	bool applied;			/* last is what the kernel has */
	struct nft_state last;
	/* What other processes changed in our table, not checked yet. */
	struct kernel_nft_changes foreign;
	/* Out of sync: the last apply failed and @pending still has to go
	 * in; nft_sync_check() retries it. */
	bool failing;
	struct nft_state pending;
	int fail_err;
	unsigned int failures;		/* in a row */
	uint64_t fail_since_ms;		/* CLOCK_MONOTONIC */
};

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
		strbuf_printf(&b, "\tset %s {\n\t\ttype %s; flags interval;\n",
			   ns->sets[i].name, ns->sets[i].family == AF_INET6
			   ? "ipv6_addr" : "ipv4_addr");
		if (ns->sets[i].n_elems) {
			strbuf_printf(&b, "\t\telements = { ");
			str_elements(&b, ns->sets[i].elems, ns->sets[i].n_elems);
			strbuf_printf(&b, " }\n");
		}
		strbuf_printf(&b, "\t}\n");
	}
	for (size_t i = 0; i < ns->n_counters; i++)
		strbuf_printf(&b, "\tcounter %s { }\n", ns->counters[i]);
	strbuf_printf(&b, "%s}\n", ns->chains ? ns->chains : "");
	return strbuf_take(&b, NULL);
}

/* Same sets (by name and family, in order), counters (by name, in order)
 * and chains: elements may differ. */
static bool
same_shape(const struct nft_state *a, const struct nft_state *b)
{
	if (a->n_sets != b->n_sets || a->n_counters != b->n_counters)
		return false;
	for (size_t i = 0; i < a->n_sets; i++)
		if (strcmp(a->sets[i].name, b->sets[i].name) != 0 ||
		    a->sets[i].family != b->sets[i].family)
			return false;
	for (size_t i = 0; i < a->n_counters; i++)
		if (strcmp(a->counters[i], b->counters[i]) != 0)
			return false;
	return strcmp(a->chains ? a->chains : "", b->chains ? b->chains : "") == 0;
}

/* One set's element changes, deletions then additions (an element and
 * its replacement may overlap), appended to @batch; @del and @add hold
 * the prefixes.  Returns how many elements change, or -ENOMEM. */
static long
diff_set(const char *set, const struct nft_set *old, const struct nft_set *new,
	 struct kernel_nft_elems *batch, size_t *n_batch, struct ts_prefix **del,
	 struct ts_prefix **add)
{
	size_t nd = 0, na = 0;

	*del = *add = NULL;
	/* Twice: count, then copy into arrays of the size needed (a health
	 * change that touches no element allocates nothing). */
	for (int pass = 0; pass < 2; pass++) {
		size_t i = 0, j = 0;

		if (pass == 1 &&
		    ((nd && (*del = malloc(nd * sizeof(**del))) == NULL) ||
		     (na && (*add = malloc(na * sizeof(**add))) == NULL)))
			return -ENOMEM;
		nd = na = 0;
		while (i < old->n_elems || j < new->n_elems) {
			int c = i == old->n_elems ? 1 : j == new->n_elems ? -1 :
				ts_prefix_cmp(&old->elems[i], &new->elems[j]);

			if (c == 0) {
				i++, j++;
			} else if (c < 0) {
				if (pass)
					(*del)[nd] = old->elems[i];
				nd++, i++;
			} else {
				if (pass)
					(*add)[na] = new->elems[j];
				na++, j++;
			}
		}
	}
	if (nd)
		batch[(*n_batch)++] = (struct kernel_nft_elems){
			KERNEL_NFT_ELEMS_DEL, set, *del, nd, new->family };
	if (na)
		batch[(*n_batch)++] = (struct kernel_nft_elems){
			KERNEL_NFT_ELEMS_ADD, set, *add, na, new->family };
	return (long)(nd + na);
}

/* The element changes from s->last to @want, in one transaction. */
static int
apply_elements(struct nft_sync *s, const struct nft_state *want,
	       unsigned int *changed)
{
	size_t n = want->n_sets, nb = 0;
	struct kernel_nft_elems *batch = calloc(2 * n + 1, sizeof(*batch));
	struct ts_prefix **bufs = calloc(2 * n + 1, sizeof(*bufs));
	unsigned long total = 0;
	int err = 0;

	if (batch == NULL || bufs == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		long c = diff_set(want->sets[i].name, &s->last.sets[i],
				  &want->sets[i], batch, &nb, &bufs[2 * i],
				  &bufs[2 * i + 1]);

		if (c < 0) {
			err = (int)c;
			goto out;
		}
		total += (unsigned long)c;
	}
	if (nb)
		err = s->ops->nft_elems(s->ops, batch, nb);
out:
	for (size_t i = 0; bufs && i < 2 * n; i++)
		free(bufs[i]);
	free(bufs);
	free(batch);
	*changed = total > UINT_MAX ? UINT_MAX : (unsigned int)total;
	return err;
}

/*
 * The whole table, fast: (1) every set's content replaced, through
 * libnftnl (the table and missing sets are made; the chains still in
 * place keep using them, so a packet meets the old or the new content,
 * never an empty set); (2) one nft script that drops the chains there
 * and the sets no longer wanted and adds our chains: small, as it
 * carries no element.  Each step is one transaction.  A set new in
 * this apply is used by no rule before step 2, as it was by none
 * before.
 */
static int
apply_fast(struct nft_sync *s, const struct nft_state *want)
{
	struct kernel_nft_names names = { 0 };
	struct kernel_nft_elems *batch = NULL;
	struct strbuf b = { 0 };
	char *script = NULL;
	int err;

	err = s->ops->nft_names(s->ops, &names);
	if (err == -ENOENT)
		err = 0;
	if (err < 0)
		return err;
	if (want->n_sets &&
	    (batch = calloc(want->n_sets, sizeof(*batch))) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < want->n_sets; i++)
		batch[i] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_REPLACE,
			want->sets[i].name, want->sets[i].elems,
			want->sets[i].n_elems, want->sets[i].family };
	if (want->n_sets &&
	    (err = s->ops->nft_elems(s->ops, batch, want->n_sets)) < 0)
		goto out;
	strbuf_printf(&b, "table %s {}\n", KERNEL_NFT_TABLE);
	/* All flushed before any is deleted: a jump between them (not ours,
	 * but someone may have added one) must not hold a chain. */
	for (size_t i = 0; i < names.n_chains; i++)
		strbuf_printf(&b, "flush chain %s %s\n", KERNEL_NFT_TABLE,
			      names.chains[i]);
	for (size_t i = 0; i < names.n_chains; i++)
		strbuf_printf(&b, "delete chain %s %s\n", KERNEL_NFT_TABLE,
			      names.chains[i]);
	for (size_t i = 0; i < names.n_sets; i++) {
		bool wanted = false;

		for (size_t j = 0; j < want->n_sets && !wanted; j++)
			wanted = strcmp(want->sets[j].name, names.sets[i]) == 0;
		if (!wanted)
			strbuf_printf(&b, "delete set %s %s\n", KERNEL_NFT_TABLE,
				      names.sets[i]);
	}
	/* Counters stay (and keep counting across reloads) while wanted;
	 * the rules naming the others are gone by now, in this
	 * transaction. */
	for (size_t i = 0; i < names.n_counters; i++) {
		bool wanted = false;

		for (size_t j = 0; j < want->n_counters && !wanted; j++)
			wanted = strcmp(want->counters[j], names.counters[i]) == 0;
		if (!wanted)
			strbuf_printf(&b, "delete counter %s %s\n",
				      KERNEL_NFT_TABLE, names.counters[i]);
	}
	strbuf_printf(&b, "table %s {\n", KERNEL_NFT_TABLE);
	for (size_t i = 0; i < want->n_counters; i++)
		strbuf_printf(&b, "\tcounter %s { }\n", want->counters[i]);
	strbuf_printf(&b, "%s}\n", want->chains ? want->chains : "");
	if ((script = strbuf_take(&b, NULL)) == NULL) {
		err = -ENOMEM;
		goto out;
	}
	err = s->ops->nft_run(s->ops, script, NULL);
out:
	free(script);
	free(batch);
	kernel_nft_names_free(&names);
	return err;
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
	if (src->n_counters &&
	    (dst->counters = calloc(src->n_counters, sizeof(char *))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < src->n_counters; i++, dst->n_counters++)
		if ((dst->counters[i] = strdup(src->counters[i])) == NULL)
			return -ENOMEM;
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
	kernel_nft_changes_free(&s->foreign);
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
}

int
nft_sync_apply(struct nft_sync *s, const struct nft_state *want,
	       unsigned int *changes)
{
	unsigned int n = 0;
	bool whole = !(s->applied && same_shape(&s->last, want));
	int err;

	if (!whole) {
		err = apply_elements(s, want, &n);
		if (err == 0 && n == 0) {
			if (changes)
				*changes = 0;
			return 0;
		}
	} else {
		n = 1;
		err = apply_fast(s, want);
		/* The kernel's or nft's refusal, not a failure to talk. */
		if (err == -EEXIST || err == -EINVAL || err == -EBUSY ||
		    err == -EOPNOTSUPP) {
			/* Something in the way (a set of ours remade with
			 * another type, say): replace the table whole, as
			 * one script, slower but sure. */
			char *script = nft_script_full(want);

			log_notice("nft", "table %s: replacing it whole (%s)",
				   KERNEL_NFT_TABLE, strerror(-err));
			err = script ? s->ops->nft_run(s->ops, script, NULL) : -ENOMEM;
			free(script);
		}
	}
	forget(s);
	if (err < 0) {
		note_failure(s, want, err);
		return err;
	}
	/* No read-back: nobody else has touched the table until the event
	 * socket says so (nft_sync_drain()). */
	if ((err = copy_state(&s->last, want)) < 0) {
		forget(s);
		note_failure(s, want, err);
		return err;
	}
	s->applied = true;
	note_success(s);
	if (whole || n >= 1000)
		daemon_trim();
	if (changes)
		*changes = n;
	return 0;
}

int
nft_sync_drain(struct nft_sync *s)
{
	int err = s->ops->nft_monitor_drain(s->ops, &s->foreign);

	if (err < 0)
		s->foreign.table = true;	/* events lost: look at it all */
	return kernel_nft_changes_any(&s->foreign) ? 1 : 0;
}

/* Replace the table whole from our record. */
static int
reassert(struct nft_sync *s)
{
	struct nft_state want = s->last;
	int err;

	memset(&s->last, 0, sizeof(s->last));
	s->applied = false;
	err = nft_sync_apply(s, &want, NULL);
	nft_state_free(&want);
	return err;
}

static const struct nft_set *
our_set(const struct nft_sync *s, const char *name)
{
	for (size_t i = 0; i < s->last.n_sets; i++)
		if (strcmp(s->last.sets[i].name, name) == 0)
			return &s->last.sets[i];
	return NULL;
}

/*
 * Only elements of @ch's sets changed: put back the content of those
 * sets, in one transaction.  Not read back first: the kernel dumps an
 * interval set in rounds that each walk it from the start, so reading
 * 100,000 elements takes longer (1.6 s) than writing them (0.4 s).
 */
static int
check_sets(struct nft_sync *s, const struct kernel_nft_changes *ch)
{
	struct kernel_nft_elems *batch = calloc(ch->n_sets, sizeof(*batch));
	size_t nb = 0;
	int err = 0;

	if (batch == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < ch->n_sets; i++) {
		const struct nft_set *set = our_set(s, ch->sets[i]);

		if (set == NULL)
			continue;	/* a set of someone else's in our table:
					 * the next whole apply drops it */
		log_notice("nft", "set %s of table %s was changed by someone "
			   "else; restoring it", set->name, KERNEL_NFT_TABLE);
		batch[nb++] = (struct kernel_nft_elems){ KERNEL_NFT_ELEMS_REPLACE,
			set->name, set->elems, set->n_elems, set->family };
	}
	if (nb)
		err = s->ops->nft_elems(s->ops, batch, nb);
	free(batch);
	if (err < 0) {
		struct nft_state keep = s->last;

		/* Retry whole, from the record, on the retry timer. */
		memset(&s->last, 0, sizeof(s->last));
		forget(s);
		note_failure(s, &keep, err);
		nft_state_free(&keep);
		return err;
	}
	return nb ? 1 : 0;
}

int
nft_sync_check(struct nft_sync *s)
{
	struct kernel_nft_changes ch = s->foreign;
	int err;

	memset(&s->foreign, 0, sizeof(s->foreign));
	if (s->failing) {
		/* Our last apply never took: try it again, whole. */
		struct nft_state want = s->pending;

		kernel_nft_changes_free(&ch);
		memset(&s->pending, 0, sizeof(s->pending));
		err = nft_sync_apply(s, &want, NULL);
		nft_state_free(&want);
		return err < 0 ? err : 1;
	}
	if (!s->applied || !kernel_nft_changes_any(&ch)) {
		kernel_nft_changes_free(&ch);
		return 0;
	}
	if (ch.table) {
		/* Rules, chains, set definitions or the table itself, or we
		 * cannot tell: put it all back (one fast apply). */
		log_notice("nft", "table %s was changed by someone else; restoring it",
			   KERNEL_NFT_TABLE);
		kernel_nft_changes_free(&ch);
		err = reassert(s);
		return err < 0 ? err : 1;
	}
	err = check_sets(s, &ch);
	kernel_nft_changes_free(&ch);
	return err;
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
	kernel_nft_changes_free(&s->foreign);
	note_success(s);
	snprintf(cmd, sizeof(cmd), "table %s {}\ndelete table %s\n",
		 KERNEL_NFT_TABLE, KERNEL_NFT_TABLE);
	return s->ops->nft_run(s->ops, cmd, NULL);
}
