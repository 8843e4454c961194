/*
 * wordcount NCORES [WORDS=400000] [SEED=42]: a Metis-style MapReduce word
 * count with pthreads over a corpus generated in the guest (the generator is
 * specified in README.md; xtask reproduces it to check the result).
 *   map:    worker i counts the words of its slice of the corpus into a
 *           private hash table;
 *   reduce: worker j merges, from every private table, the words whose hash
 *           falls in its partition (hash >> 32) % NCORES into a table of its
 *           own;
 *   then the main thread gathers the partitions and sorts them by word.
 * The timed section is map + reduce + sort (not the corpus generation).
 * ops = words counted; the line also carries the distinct words and the
 * FNV-1a 64 checksum of the sorted "word count\n" lines.
 */
#include "common.h"

static const char CONSONANTS[] = "bcdfghjklmnprstv";
static const char VOWELS[] = "aeiou";
static const char *const SUFFIXES[4] = { "", "s", "er", "ing" };

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* Word i (0..255): consonant[i>>4], vowel[((i>>4)+(i&15))%5],
 * consonant[i&15], then suffix[i%4]. */
static size_t make_word(unsigned i, char *out)
{
	unsigned hi = i >> 4, lo = i & 15;
	size_t n = 0;
	out[n++] = CONSONANTS[hi];
	out[n++] = VOWELS[(hi + lo) % 5];
	out[n++] = CONSONANTS[lo];
	for (const char *s = SUFFIXES[i % 4]; *s; s++)
		out[n++] = *s;
	return n;
}

static uint64_t rng;

/* xorshift64* (Vigna): shifts 12, 25, 27; multiplier 0x2545F4914F6CDD1D. */
static uint64_t next_random(void)
{
	uint64_t x = rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static char *generate(long words, uint64_t seed, size_t *len)
{
	char dict[256][8];
	size_t dlen[256];
	for (unsigned i = 0; i < 256; i++)
		dlen[i] = make_word(i, dict[i]);
	char *buf = malloc((size_t)words * 7 + 1);
	if (!buf)
		die("malloc");
	rng = seed ? seed : 1;
	size_t n = 0;
	for (long k = 0; k < words; k++) {
		unsigned w = (unsigned)(next_random() >> 56);
		memcpy(buf + n, dict[w], dlen[w]);
		n += dlen[w];
		buf[n++] = (k % 16 == 15 || k == words - 1) ? '\n' : ' ';
	}
	*len = n;
	return buf;
}

struct entry {
	const char *word;
	uint64_t hash;
	uint64_t count;
	uint32_t len;
};

struct table {
	struct entry *e;
	size_t cap, used;
};

static void table_init(struct table *t, size_t cap)
{
	t->e = calloc(cap, sizeof *t->e);
	if (!t->e)
		die("calloc");
	t->cap = cap;
	t->used = 0;
}

static void table_add(struct table *t, const char *w, uint32_t len, uint64_t h, uint64_t count);

static void table_grow(struct table *t)
{
	struct table bigger;
	table_init(&bigger, t->cap * 2);
	for (size_t i = 0; i < t->cap; i++)
		if (t->e[i].word)
			table_add(&bigger, t->e[i].word, t->e[i].len, t->e[i].hash, t->e[i].count);
	free(t->e);
	*t = bigger;
}

static void table_add(struct table *t, const char *w, uint32_t len, uint64_t h, uint64_t count)
{
	size_t mask = t->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct entry *e = &t->e[i];
		if (!e->word) {
			*e = (struct entry){ w, h, count, len };
			if (++t->used * 2 > t->cap)
				table_grow(t);
			return;
		}
		if (e->hash == h && e->len == len && memcmp(e->word, w, len) == 0) {
			e->count += count;
			return;
		}
	}
}

static int is_space(char c)
{
	return c == ' ' || c == '\n';
}

static int nworkers;
static const char *corpus;
static size_t corpus_len;
static struct table maps[MAX_WORKERS], reduces[MAX_WORKERS];
static pthread_barrier_t barrier;
static struct gate gate;

/* Slice boundary i: i*len/n moved forward to the start of a word. */
static size_t boundary(int i)
{
	size_t b = corpus_len * (size_t)i / (size_t)nworkers;
	while (b > 0 && b < corpus_len && !is_space(corpus[b - 1]))
		b++;
	return b;
}

static void worker(int id, void *ctx)
{
	(void)ctx;
	pin(id);
	gate_wait(&gate);
	struct table *t = &maps[id];
	table_init(t, 1024);
	size_t p = boundary(id), end = boundary(id + 1);
	while (p < end) {
		while (p < end && is_space(corpus[p]))
			p++;
		if (p == end)
			break;
		const char *w = corpus + p;
		uint64_t h = FNV_OFFSET;
		while (p < end && !is_space(corpus[p]))
			h = (h ^ (unsigned char)corpus[p++]) * FNV_PRIME;
		table_add(t, w, (uint32_t)(corpus + p - w), h, 1);
	}
	pthread_barrier_wait(&barrier);
	struct table *r = &reduces[id];
	table_init(r, 1024);
	for (int m = 0; m < nworkers; m++)
		for (size_t i = 0; i < maps[m].cap; i++) {
			struct entry *e = &maps[m].e[i];
			if (e->word && (e->hash >> 32) % (uint64_t)nworkers == (uint64_t)id)
				table_add(r, e->word, e->len, e->hash, e->count);
		}
}

static int by_word(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	uint32_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->word, y->word, n);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
	return h;
}

int main(int argc, char **argv)
{
	nworkers = workers_arg(argc, argv);
	long words = arg_or(argc, argv, 2, 400000);
	uint64_t seed = (uint64_t)arg_or(argc, argv, 3, 42);
	corpus = generate(words, seed, &corpus_len);
	pthread_t t[MAX_WORKERS];
	struct thread_arg a[MAX_WORKERS];
	if ((errno = pthread_barrier_init(&barrier, NULL, (unsigned)nworkers)))
		die("pthread_barrier_init");
	gate_init(&gate);
	run_threads(nworkers, worker, NULL, t, a);

	uint64_t t0 = now_ns();
	gate_open(&gate);
	join_threads(nworkers, t);
	size_t distinct = 0;
	for (int j = 0; j < nworkers; j++)
		distinct += reduces[j].used;
	struct entry *all = malloc((distinct ? distinct : 1) * sizeof *all);
	if (!all)
		die("malloc");
	size_t k = 0;
	for (int j = 0; j < nworkers; j++)
		for (size_t i = 0; i < reduces[j].cap; i++)
			if (reduces[j].e[i].word)
				all[k++] = reduces[j].e[i];
	qsort(all, distinct, sizeof *all, by_word);
	uint64_t t1 = now_ns();

	uint64_t total = 0, sum = FNV_OFFSET;
	for (size_t i = 0; i < distinct; i++) {
		char line[64];
		int n = snprintf(line, sizeof line, " %llu\n", (unsigned long long)all[i].count);
		sum = fnv(sum, all[i].word, all[i].len);
		sum = fnv(sum, line, (size_t)n);
		total += all[i].count;
	}
	char extra[160];
	snprintf(extra, sizeof extra, "words=%ld seed=%llu distinct=%zu checksum=%016llx", words,
		 (unsigned long long)seed, distinct, (unsigned long long)sum);
	result("wordcount", "pthreads", nworkers, total, t1 - t0, extra);
	return 0;
}
