/*
 * nofile emulation shim (LD_PRELOAD). The host's nofile hard limit cannot be raised, so a
 * container cannot really start with nofile=1073741816. This shim makes getrlimit/prlimit
 * report OOMLAB_NOFILE_EMULATED for RLIMIT_NOFILE while the real soft limit is still the
 * container's starting value (OOMLAB_NOFILE_START), and the real value once something
 * lowered it (`ulimit -n 4096` in a wrapper), so the incident's fix is honoured.
 *
 * Built with -nostdlib and raw syscalls: no libc symbol at all, so it loads in any glibc
 * (mysql:5.7 is glibc 2.17) and needs no dlsym.
 */
#define RLIMIT_NOFILE_ 7
#define SYS_prlimit64_ 302

typedef unsigned long u64;
struct rlimit_ { u64 cur; u64 max; };

extern char **environ __attribute__((weak));

static long raw_prlimit64(long pid, long resource, const struct rlimit_ *new_limit, struct rlimit_ *old_limit)
{
	long ret;
	register long r10 __asm__("r10") = (long)old_limit;
	__asm__ volatile ("syscall"
		: "=a"(ret)
		: "a"((long)SYS_prlimit64_), "D"(pid), "S"(resource), "d"(new_limit), "r"(r10)
		: "rcx", "r11", "memory");
	return ret;
}

static u64 env_number(const char *name)
{
	char **env = environ;
	if (!env) return 0;
	for (; *env; env++) {
		const char *e = *env, *n = name;
		while (*n && *e == *n) { e++; n++; }
		if (*n || *e != '=') continue;
		u64 value = 0;
		for (e++; *e >= '0' && *e <= '9'; e++) value = value * 10 + (u64)(*e - '0');
		return value;
	}
	return 0;
}

static int *errno_location(void)
{
	extern int *__errno_location(void) __attribute__((weak));
	static int fallback;
	return __errno_location ? __errno_location() : &fallback;
}

static void emulate(struct rlimit_ *limit)
{
	u64 emulated = env_number("OOMLAB_NOFILE_EMULATED");
	u64 start = env_number("OOMLAB_NOFILE_START");
	if (emulated && limit->cur == start) {
		limit->cur = emulated;
		limit->max = emulated;
	}
}

static int finish(long ret)
{
	if (ret < 0) { *errno_location() = (int)-ret; return -1; }
	return 0;
}

int prlimit64(int pid, int resource, const struct rlimit_ *new_limit, struct rlimit_ *old_limit)
{
	long ret = raw_prlimit64(pid, resource, new_limit, old_limit);
	if (ret == 0 && old_limit && resource == RLIMIT_NOFILE_ && (pid == 0)) emulate(old_limit);
	return finish(ret);
}

int prlimit(int pid, int resource, const struct rlimit_ *new_limit, struct rlimit_ *old_limit)
{
	return prlimit64(pid, resource, new_limit, old_limit);
}

int getrlimit64(int resource, struct rlimit_ *limit)
{
	return prlimit64(0, resource, 0, limit);
}

int getrlimit(int resource, struct rlimit_ *limit)
{
	return prlimit64(0, resource, 0, limit);
}
