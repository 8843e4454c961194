/*
 * The Linux peer of servers/apps/web: the same HTTP/1.1 rules
 * (servers/apps/web-http: the head within 4096 bytes or 431, a body of at
 * most 1024 bytes or 413, 400 for malformed requests, 405, 505, 404, the
 * four pages and their bytes, keep-alive as HTTP/1.1 and 1.0 define it)
 * and the same per-connection shape (a 5 KiB request buffer, responses
 * from pages held in memory), served by WORKERS threads, each pinned to
 * its core with its own epoll instance and its own SO_REUSEPORT listener
 * on port 80 (the kernel spreads connections over the listeners, as the
 * network server spreads them over our workers' shared listeners).
 *
 *   web WORKERS [PORT]  serves (on port 80 unless PORT) until a line arrives
 *                    on stdin, then prints
 *                    RESULT name=web mode=epoll cores=WORKERS ops=REQUESTS ns=0 conns=N
 */
#include "common.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define MAX_HEAD 4096
#define MAX_BODY 1024
#define REQUEST_BUF (MAX_HEAD + MAX_BODY)
#define MAX_CONNS 1024

static const char INDEX[] =
	"<!DOCTYPE html>\n<html><head><title>web</title></head><body>\n"
	"<h1>Served from application cores through a kernel-core TCP/IP stack</h1>\n"
	"<ul><li><a href=\"/1k\">/1k</a></li><li><a href=\"/16k\">/16k</a></li>"
	"<li><a href=\"/64k\">/64k</a></li></ul>\n</body></html>\n";
static const char *PATHS[4] = { "/", "/1k", "/16k", "/64k" };
static size_t LENS[4] = { sizeof(INDEX) - 1, 1024, 16384, 65536 };
static char *PAGES[4];
static const char ALNUM[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

enum reject { OK = 0, R400, R404, R405, R413, R431, R505 };
static const int CODE[] = { 200, 400, 404, 405, 413, 431, 505 };
static const char *REASON[] = { "OK", "Bad Request", "Not Found", "Method Not Allowed",
	"Content Too Large", "Request Header Fields Too Large", "HTTP Version Not Supported" };

struct parsed {
	int complete; /* 0: receive more */
	enum reject reject;
	int head_only, page, keep_alive;
	size_t used;
};

static int is_token(unsigned char b)
{
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
	       (b && strchr("!#$%&'*+-.^_`|~", b));
}

/* web-http's check_bytes: a bare CR or LF, or a control byte but tab. */
static int bad_bytes(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = b[i];
		if (c == '\r') {
			if (i + 1 < n && b[i + 1] != '\n')
				return 1;
		} else if (c == '\n') {
			if (i == 0 || b[i - 1] != '\r')
				return 1;
		} else if (c != '\t' && (c < 32 || c == 127))
			return 1;
	}
	return 0;
}

static int ieq(const unsigned char *a, size_t n, const char *b)
{
	return strlen(b) == n && !strncasecmp((const char *)a, b, n);
}

static void trim(const unsigned char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* web_http::parse, rule for rule. */
static struct parsed parse(const unsigned char *buf, size_t len)
{
	struct parsed p = { 1, OK, 0, 0, 0, len };
	size_t start = 0, end = 0;
	while (len >= start + 2 && buf[start] == '\r' && buf[start + 1] == '\n')
		start += 2;
	int found = 0;
	for (size_t i = start; i + 4 <= len; i++)
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = i, found = 1;
			break;
		}
	if (!found) {
		if (bad_bytes(buf + start, len - start))
			return p.reject = R400, p;
		if (len >= MAX_HEAD)
			return p.reject = R431, p;
		p.complete = 0;
		return p;
	}
	if (end + 4 > MAX_HEAD)
		return p.reject = R431, p;
	if (bad_bytes(buf + start, end + 2 - start))
		return p.reject = R400, p;
	/* The request line. */
	const unsigned char *l = buf + start;
	size_t ll = (const unsigned char *)memchr(l, '\r', end + 2 - start) - l;
	const unsigned char *sp1 = memchr(l, ' ', ll);
	if (!sp1)
		return p.reject = R400, p;
	const unsigned char *sp2 = memchr(sp1 + 1, ' ', ll - (sp1 + 1 - l));
	if (!sp2 || memchr(sp2 + 1, ' ', ll - (sp2 + 1 - l)))
		return p.reject = R400, p;
	size_t ml = sp1 - l, tl = sp2 - sp1 - 1, vl = ll - (sp2 + 1 - l);
	const unsigned char *t = sp1 + 1, *v = sp2 + 1;
	if (!ml)
		return p.reject = R400, p;
	for (size_t i = 0; i < ml; i++)
		if (!is_token(l[i]))
			return p.reject = R400, p;
	if (!tl || t[0] != '/')
		return p.reject = R400, p;
	for (size_t i = 0; i < tl; i++)
		if (t[i] <= ' ' || t[i] == 127)
			return p.reject = R400, p;
	if (vl != 8 || memcmp(v, "HTTP/", 5) || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		return p.reject = R400, p;
	if (v[5] != '1' || v[7] > '1')
		return p.reject = R505, p;
	int minor = v[7] - '0';
	int method = (ml == 3 && !memcmp(l, "GET", 3)) ? 1 : (ml == 4 && !memcmp(l, "HEAD", 4)) ? 2 : 0;
	/* Header lines. */
	int host = 0, close = 0, ka = 0;
	long length = -1;
	const unsigned char *h = l + ll + 2, *hend = buf + end + 2;
	while (h < hend) {
		const unsigned char *cr = memchr(h, '\r', hend - h);
		size_t n = cr - h;
		const unsigned char *colon = memchr(h, ':', n);
		if (!colon || colon == h)
			return p.reject = R400, p;
		for (const unsigned char *c = h; c < colon; c++)
			if (!is_token(*c))
				return p.reject = R400, p;
		size_t nl = colon - h, vn = n - nl - 1;
		const unsigned char *val = colon + 1;
		trim(&val, &vn);
		if (ieq(h, nl, "host"))
			host = 1;
		else if (ieq(h, nl, "content-length")) {
			if (!vn || vn > 9)
				return p.reject = R400, p;
			long x = 0;
			for (size_t i = 0; i < vn; i++) {
				if (val[i] < '0' || val[i] > '9')
					return p.reject = R400, p;
				x = x * 10 + (val[i] - '0');
			}
			if (length >= 0 && length != x)
				return p.reject = R400, p;
			length = x;
		} else if (ieq(h, nl, "transfer-encoding"))
			return p.reject = R400, p;
		else if (ieq(h, nl, "connection")) {
			while (vn) {
				const unsigned char *comma = memchr(val, ',', vn);
				size_t on = comma ? (size_t)(comma - val) : vn;
				const unsigned char *o = val;
				size_t k = on;
				trim(&o, &k);
				close |= ieq(o, k, "close");
				ka |= ieq(o, k, "keep-alive");
				if (!comma)
					break;
				vn -= on + 1, val = comma + 1;
			}
		}
		h = cr + 2;
	}
	if (minor == 1 && !host)
		return p.reject = R400, p;
	size_t body = length < 0 ? 0 : (size_t)length;
	if (body > MAX_BODY)
		return p.reject = R413, p;
	size_t used = end + 4 + body;
	if (len < used) {
		p.complete = 0;
		return p;
	}
	p.used = used;
	p.keep_alive = close ? 0 : (minor == 1 ? 1 : ka);
	if (!method)
		return p.reject = R405, p;
	p.head_only = method == 2;
	for (int i = 0; i < 4; i++)
		if (strlen(PATHS[i]) == tl && !memcmp(t, PATHS[i], tl)) {
			p.page = i;
			return p;
		}
	p.reject = R404;
	return p;
}

struct conn {
	int fd;
	unsigned char req[REQUEST_BUF];
	size_t len;
	char head[256];
	size_t head_len;
	const char *body;
	size_t body_len, sent;
	int keep_alive, sending;
};

static volatile int stopping;
static int PORT = 80;
static uint64_t served[MAX_WORKERS], accepted[MAX_WORKERS];

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Sends what it can of the response; 1 when all of it went. */
static int push(struct conn *c)
{
	while (c->sent < c->head_len + c->body_len) {
		struct iovec iov[2];
		int n = 0;
		if (c->sent < c->head_len) {
			iov[n].iov_base = c->head + c->sent;
			iov[n++].iov_len = c->head_len - c->sent;
			if (c->body_len)
				iov[n].iov_base = (void *)c->body, iov[n++].iov_len = c->body_len;
		} else {
			iov[n].iov_base = (void *)(c->body + (c->sent - c->head_len));
			iov[n++].iov_len = c->head_len + c->body_len - c->sent;
		}
		ssize_t k = writev(c->fd, iov, n);
		if (k < 0)
			return errno == EAGAIN ? 0 : -1;
		c->sent += (size_t)k;
	}
	return 1;
}

/* Answers whole requests in the buffer while the socket takes them;
 * -1: drop the connection. */
static int serve(int ep, struct conn *c, int w)
{
	for (;;) {
		if (c->sending) {
			int r = push(c);
			if (r <= 0)
				return r;
			c->sending = 0;
			served[w]++;
			if (!c->keep_alive)
				return -1;
		}
		struct parsed p = parse(c->req, c->len);
		if (!p.complete)
			return 0;
		const char *body;
		size_t blen, len;
		int html = 0;
		if (p.reject) {
			static char text[64];
			snprintf(text, sizeof text, "%d %s\n", CODE[p.reject], REASON[p.reject]);
			body = text, blen = strlen(text), len = blen;
		} else {
			body = PAGES[p.page], len = LENS[p.page], blen = p.head_only ? 0 : len;
			html = p.page == 0;
		}
		c->head_len = snprintf(c->head, sizeof c->head,
			"HTTP/1.1 %d %s\r\nServer: kml-web\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			"Connection: %s\r\n%s\r\n",
			CODE[p.reject], REASON[p.reject], html ? "text/html" : "text/plain", len,
			p.keep_alive ? "keep-alive" : "close",
			p.reject == R405 ? "Allow: GET, HEAD\r\n" : "");
		c->body = body, c->body_len = blen, c->sent = 0;
		c->keep_alive = p.keep_alive, c->sending = 1;
		size_t used = p.used < c->len ? p.used : c->len;
		memmove(c->req, c->req + used, c->len - used);
		c->len -= used;
		(void)ep;
	}
}

static void *worker(void *arg)
{
	int w = (int)(long)arg;
	pin(w);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64))
		die("bind/listen port 80");
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	struct epoll_event evs[64];
	while (!stopping) {
		int n = epoll_wait(ep, evs, 64, 100);
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					c = calloc(1, sizeof *c);
					c->fd = fd;
					struct epoll_event ce = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
					accepted[w]++;
				}
				continue;
			}
			int dead = 0;
			if (evs[i].events & EPOLLIN) {
				for (;;) {
					size_t room = REQUEST_BUF - c->len;
					if (!room)
						break; /* parse answers before the buffer fills */
					ssize_t k = read(c->fd, c->req + c->len, room);
					if (k > 0) {
						c->len += (size_t)k;
						continue;
					}
					if (k == 0 || errno != EAGAIN)
						dead = 1;
					break;
				}
			}
			if (serve(ep, c, w) < 0 || (dead && !c->sending))
				drop(ep, c);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int workers = workers_arg(argc, argv);
	PORT = (int)arg_or(argc, argv, 2, 80);
	for (int p = 1; p < 4; p++) {
		PAGES[p] = malloc(LENS[p]);
		for (size_t j = 0; j < LENS[p]; j++)
			PAGES[p][j] = j % 64 == 63 ? '\n' : ALNUM[(j / 64 * 7 + j % 64 + p) % 62];
	}
	PAGES[0] = (char *)INDEX;
	pthread_t t[MAX_WORKERS];
	for (int w = 0; w < workers; w++)
		pthread_create(&t[w], NULL, worker, (void *)(long)w);
	printf("WEB READY workers=%d port=%d\n", workers, PORT);
	fflush(stdout);
	char line[64];
	if (!fgets(line, sizeof line, stdin))
		sleep(1);
	stopping = 1;
	uint64_t ops = 0, conns = 0;
	for (int w = 0; w < workers; w++) {
		pthread_join(t[w], NULL);
		ops += served[w], conns += accepted[w];
	}
	printf("RESULT name=web mode=epoll cores=%d ops=%llu ns=0 conns=%llu\n", workers,
	       (unsigned long long)ops, (unsigned long long)conns);
	return 0;
}
