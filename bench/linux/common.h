/*
 * Shared helpers of the Linux peer's workloads: guest-clock timing, worker
 * pinning, a start gate, fork/thread launch, and the RESULT line.
 *
 * Every workload is `NAME NCORES [PARAMS...]` and prints one line per variant:
 *   RESULT name=NAME mode=VARIANT cores=N ops=OPS ns=NS [key=value...]
 * where NS is CLOCK_MONOTONIC around the timed section only (under QEMU
 * -icount shift=0, one guest nanosecond is one guest instruction).
 */
#ifndef LINUX_PEER_COMMON_H
#define LINUX_PEER_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MAX_WORKERS 64

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void die(const char *what)
{
	fprintf(stdout, "FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* Reads exactly `len` bytes (a pipe may return fewer); dies on end of
 * file or an error. */
static inline void read_full(int fd, void *p, size_t len)
{
	char *c = p;
	while (len) {
		ssize_t r = read(fd, c, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("read");
		c += r;
		len -= (size_t)r;
	}
}

/* `argv[i]` as a positive number, or `def` when absent. */
static inline long arg_or(int argc, char **argv, int i, long def)
{
	if (i >= argc)
		return def;
	char *end;
	long v = strtol(argv[i], &end, 0);
	if (*end || v <= 0) {
		fprintf(stdout, "FAIL bad argument %d: %s\n", i, argv[i]);
		exit(2);
	}
	return v;
}

static inline int workers_arg(int argc, char **argv)
{
	long n = arg_or(argc, argv, 1, 1);
	if (n > MAX_WORKERS) {
		fprintf(stdout, "FAIL at most %d workers\n", MAX_WORKERS);
		exit(2);
	}
	return (int)n;
}

/* Pins the calling thread (or process) to CPU `i` modulo the online CPUs. */
static inline void pin(int i)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(i % (n > 0 ? n : 1), &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0)
		die("sched_setaffinity");
}

/* An anonymous region without transparent huge pages, so that every 4 KiB
 * page is a fault of its own (Debian's kernel has THP "always"). */
static inline char *map_region(size_t bytes, int shared)
{
	int flags = MAP_ANONYMOUS | (shared ? MAP_SHARED : MAP_PRIVATE);
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	if (madvise(p, bytes, MADV_NOHUGEPAGE) != 0)
		die("madvise");
	return p;
}

static inline void touch_pages(char *p, size_t bytes, char value)
{
	for (size_t off = 0; off < bytes; off += PAGE)
		((volatile char *)p)[off] = value;
}

/*
 * The start gate: workers block in read() on a pipe until the parent closes
 * its write end, so that creating threads or processes is not timed. Forked
 * children must drop their copy of the write end (gate_child).
 */
struct gate {
	int fd[2];
};

static inline void gate_init(struct gate *g)
{
	if (pipe(g->fd) != 0)
		die("pipe");
}

static inline void gate_child(struct gate *g)
{
	close(g->fd[1]);
}

static inline void gate_wait(struct gate *g)
{
	char c;
	while (read(g->fd[0], &c, 1) < 0 && errno == EINTR)
		;
}

static inline void gate_open(struct gate *g)
{
	close(g->fd[1]);
}

static inline void gate_done(struct gate *g)
{
	close(g->fd[0]);
}

typedef void (*worker_fn)(int index, void *ctx);

struct thread_arg {
	worker_fn fn;
	int index;
	void *ctx;
};

static inline void *thread_main(void *p)
{
	struct thread_arg *a = p;
	a->fn(a->index, a->ctx);
	return NULL;
}

/* Runs `fn(i, ctx)` for i in 0..n as threads; returns once all have joined. */
static inline void run_threads(int n, worker_fn fn, void *ctx, pthread_t *t, struct thread_arg *a)
{
	for (int i = 0; i < n; i++) {
		a[i] = (struct thread_arg){ fn, i, ctx };
		errno = pthread_create(&t[i], NULL, thread_main, &a[i]);
		if (errno)
			die("pthread_create");
	}
}

static inline void join_threads(int n, pthread_t *t)
{
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* Forks n children running `fn(i, ctx)` then `_exit(0)`; `before` runs in
 * each child first (e.g. gate_child). */
static inline void fork_workers(int n, worker_fn fn, void *ctx, pid_t *pids, void (*before)(void *), void *bctx)
{
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (before)
				before(bctx);
			fn(i, ctx);
			_exit(0);
		}
		pids[i] = pid;
	}
}

static inline void wait_workers(int n, pid_t *pids)
{
	for (int i = 0; i < n; i++) {
		int status;
		if (waitpid(pids[i], &status, 0) != pids[i])
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stdout, "FAIL worker %d exited with status %d\n", i, status);
			exit(1);
		}
	}
}

static inline void result(const char *name, const char *variant, int cores, uint64_t ops, uint64_t ns, const char *extra)
{
	printf("RESULT name=%s mode=%s cores=%d ops=%llu ns=%llu%s%s\n", name, variant, cores,
	       (unsigned long long)ops, (unsigned long long)ns, extra && *extra ? " " : "",
	       extra ? extra : "");
	fflush(stdout);
}

#endif
