/* Janus never gathers ICE candidates on interfaces flagged as loopback.
 * For tests on 127.0.0.1 this LD_PRELOAD shim clears IFF_LOOPBACK from the
 * list getifaddrs() returns, so loopback looks like any other interface. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
	int (*real)(struct ifaddrs **) = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
	if (real == NULL)
		return -1;
	int rc = real(ifap);
	if (rc == 0) {
		for (struct ifaddrs *i = *ifap; i != NULL; i = i->ifa_next)
			i->ifa_flags &= ~IFF_LOOPBACK;
	}
	return rc;
}
