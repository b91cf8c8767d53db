/* Network delay and jitter for tests, under the UDP socket: this kernel has
 * no netem, and nftables can drop packets but not hold them. Preloaded
 * (LD_PRELOAD) into Janus, talkline clients or Chromium, it holds every
 * outgoing UDP datagram for TALKLINE_UDP_DELAY_MS milliseconds, plus or
 * minus a uniform TALKLINE_UDP_JITTER_MS (so packets also get reordered),
 * and sends it from a thread of its own. TCP (the signaling) is untouched.
 * Each process delays what it sends, so a path through the server is
 * delayed on both hops when every participant and the server load it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 16384
#define MAX_DATAGRAM 65536

struct held {
	uint64_t due_ns;
	uint64_t order; /* ties keep sending order */
	int fd;
	socklen_t addr_len;
	struct sockaddr_storage addr;
	size_t len;
	unsigned char *data;
};

static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static int (*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct held *heap[MAX_HELD];
static size_t held_count;
static uint64_t sent_order;
static uint64_t delay_ns, jitter_ns;
static int enabled;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int earlier(const struct held *a, const struct held *b) {
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->order < b->order);
}

static void heap_push(struct held *h) {
	size_t i = held_count++;
	heap[i] = h;
	while (i > 0 && earlier(heap[i], heap[(i - 1) / 2])) {
		struct held *t = heap[i];
		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct held *heap_pop(void) {
	struct held *top = heap[0];
	heap[0] = heap[--held_count];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < held_count && earlier(heap[l], heap[m]))
			m = l;
		if (r < held_count && earlier(heap[r], heap[m]))
			m = r;
		if (m == i)
			break;
		struct held *t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
	return top;
}

static void *sender(void *arg) {
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (held_count == 0)
			pthread_cond_wait(&wake, &lock);
		uint64_t due = heap[0]->due_ns, now = now_ns();
		if (due > now) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			uint64_t t = (uint64_t)until.tv_sec * 1000000000ull + (uint64_t)until.tv_nsec + (due - now);
			until.tv_sec = (time_t)(t / 1000000000ull);
			until.tv_nsec = (long)(t % 1000000000ull);
			pthread_cond_timedwait(&wake, &lock, &until);
			continue;
		}
		struct held *h = heap_pop();
		pthread_mutex_unlock(&lock);
		real_sendto(h->fd, h->data, h->len, MSG_NOSIGNAL,
			h->addr_len ? (struct sockaddr *)&h->addr : NULL, h->addr_len);
		free(h->data);
		free(h);
		pthread_mutex_lock(&lock);
	}
	return NULL;
}

static uint64_t env_ms(const char *name) {
	const char *v = getenv(name);
	return v ? (uint64_t)strtoull(v, NULL, 10) * 1000000ull : 0;
}

static void init(void) {
	real_sendto = dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	real_sendmmsg = dlsym(RTLD_NEXT, "sendmmsg");
	delay_ns = env_ms("TALKLINE_UDP_DELAY_MS");
	jitter_ns = env_ms("TALKLINE_UDP_JITTER_MS");
	if (jitter_ns > delay_ns)
		jitter_ns = delay_ns;
	rng ^= (uint64_t)getpid() * 0x2545f4914f6cdd1dull;
	pthread_t t;
	enabled = (delay_ns > 0 || jitter_ns > 0) && pthread_create(&t, NULL, sender, NULL) == 0;
	if (enabled)
		pthread_detach(t);
}

static int is_udp(int fd) {
	int type = 0;
	socklen_t len = sizeof type;
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
}

/* Queues one datagram; returns its length, or -1 when it cannot be held
 * (the caller then sends it at once). */
static ssize_t hold(int fd, const struct msghdr *msg) {
	size_t len = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		len += msg->msg_iov[i].iov_len;
	if (len > MAX_DATAGRAM || msg->msg_namelen > sizeof(struct sockaddr_storage))
		return -1;
	struct held *h = calloc(1, sizeof *h);
	unsigned char *data = malloc(len ? len : 1);
	if (!h || !data) {
		free(h);
		free(data);
		return -1;
	}
	size_t at = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		memcpy(data + at, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		at += msg->msg_iov[i].iov_len;
	}
	h->fd = fd;
	h->data = data;
	h->len = len;
	h->addr_len = msg->msg_name ? msg->msg_namelen : 0;
	if (h->addr_len)
		memcpy(&h->addr, msg->msg_name, h->addr_len);
	pthread_mutex_lock(&lock);
	if (held_count == MAX_HELD) {
		pthread_mutex_unlock(&lock);
		free(data);
		free(h);
		return -1;
	}
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	uint64_t spread = jitter_ns ? rng % (2 * jitter_ns + 1) : 0;
	h->due_ns = now_ns() + delay_ns - jitter_ns + spread;
	h->order = sent_order++;
	heap_push(h);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	return (ssize_t)len;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t to_len) {
	pthread_once(&once, init);
	if (enabled && is_udp(fd)) {
		struct iovec iov = {(void *)buf, len};
		struct msghdr msg = {(void *)to, to ? to_len : 0, &iov, 1, NULL, 0, 0};
		ssize_t n = hold(fd, &msg);
		if (n >= 0)
			return n;
	}
	return real_sendto(fd, buf, len, flags, to, to_len);
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
	return sendto(fd, buf, len, flags, NULL, 0);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
	pthread_once(&once, init);
	if (enabled && is_udp(fd)) {
		ssize_t n = hold(fd, msg);
		if (n >= 0)
			return n;
	}
	return real_sendmsg(fd, msg, flags);
}

int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int count, int flags) {
	pthread_once(&once, init);
	if (!enabled || !is_udp(fd))
		return real_sendmmsg(fd, msgs, count, flags);
	for (unsigned int i = 0; i < count; i++) {
		ssize_t n = hold(fd, &msgs[i].msg_hdr);
		if (n < 0)
			n = real_sendmsg(fd, &msgs[i].msg_hdr, flags);
		if (n < 0)
			return i > 0 ? (int)i : -1;
		msgs[i].msg_len = (unsigned int)n;
	}
	return (int)count;
}
