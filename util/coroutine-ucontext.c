/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Coroutine backend: makecontext() builds the initial frame on an mmap()ed
 * stack with a guard page, setcontext() enters it once, then every switch
 * is a sigsetjmp/siglongjmp pair without signal-mask save, which costs
 * tens of nanoseconds instead of swapcontext()'s two system calls.  ASan is told about every stack
 * switch so it keeps tracking the right stack.
 */
#undef _FORTIFY_SOURCE  /* longjmp between stacks trips __longjmp_chk */
#include "util/osdep.h"
#include "coroutine-int.h"

#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#define CONFIG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFIG_ASAN 1
#endif
#endif

#ifdef CONFIG_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define COROUTINE_STACK_SIZE (1 << 20)

typedef struct CoroutineUContext {
    Coroutine base;
    void *stack;            /* usable stack, above the guard page */
    size_t stack_size;
    sigjmp_buf env;
#ifdef CONFIG_ASAN
    void *fake_stack_save;
#endif
} CoroutineUContext;

/* Per thread: the leader stands for the thread's own (non-coroutine) stack. */
static __thread CoroutineUContext leader;
static __thread Coroutine *current;
/* Who is creating a coroutine: its trampoline returns to that stack. */
static __thread CoroutineUContext *creator;

static void start_switch_fiber(void **fake_stack_save, const void *bottom,
                               size_t size)
{
#ifdef CONFIG_ASAN
    __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
    (void)fake_stack_save;
    (void)bottom;
    (void)size;
#endif
}

static void finish_switch_fiber(void *fake_stack_save)
{
#ifdef CONFIG_ASAN
    const void *bottom_old;
    size_t size_old;

    __sanitizer_finish_switch_fiber(fake_stack_save, &bottom_old, &size_old);
    if (!leader.stack) {
        leader.stack = (void *)bottom_old;
        leader.stack_size = size_old;
    }
#else
    (void)fake_stack_save;
#endif
}

/* makecontext() passes ints only: the pointer travels in two halves. */
union cc_arg {
    void *p;
    int i[2];
};

static void coroutine_trampoline(int i0, int i1)
{
    union cc_arg arg;
    CoroutineUContext *self;
    Coroutine *co;
    void *fake_stack_save = NULL;

    arg.i[0] = i0;
    arg.i[1] = i1;
    self = arg.p;
    co = &self->base;

    finish_switch_fiber(NULL);

    /*
     * Save this frame as the resume point, then return to the creator,
     * telling ASan which stack that is (the creator may be a coroutine).
     */
    if (!sigsetjmp(self->env, 0)) {
        start_switch_fiber(&fake_stack_save, creator->stack,
                           creator->stack_size);
        siglongjmp(*(sigjmp_buf *)co->entry_arg, 1);
    }
    finish_switch_fiber(fake_stack_save);

    for (;;) {
        co->entry(co->entry_arg);
        qemu_coroutine_switch(co, co->caller, COROUTINE_TERMINATE);
    }
}

Coroutine *qemu_coroutine_new(void)
{
    CoroutineUContext *co = g_new0(CoroutineUContext, 1);
    long page = sysconf(_SC_PAGESIZE);
    ucontext_t uc;
    sigjmp_buf old_env;
    union cc_arg arg = { 0 };
    void *fake_stack_save = NULL;
    char *mem;

    /* One guard page below the stack turns an overflow into SIGSEGV. */
    mem = mmap(NULL, COROUTINE_STACK_SIZE + page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        g_error("cannot allocate a coroutine stack: %s", g_strerror(errno));
    }
    mprotect(mem, page, PROT_NONE);
    co->stack = mem + page;
    co->stack_size = COROUTINE_STACK_SIZE;
    co->base.entry_arg = &old_env;  /* the trampoline jumps back here */

    if (getcontext(&uc) == -1) {
        abort();
    }
    uc.uc_link = NULL;          /* the trampoline never returns */
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    arg.p = co;
    makecontext(&uc, (void (*)(void))coroutine_trampoline, 2, arg.i[0],
                arg.i[1]);

    /*
     * setcontext(), not swapcontext(): the way back is old_env, so nothing
     * needs saving here, and ASan warns on every process that calls
     * swapcontext() (the switches are annotated for it instead).
     */
    creator = container_of(qemu_coroutine_backend_self(), CoroutineUContext,
                           base);
    if (!sigsetjmp(old_env, 0)) {
        start_switch_fiber(&fake_stack_save, co->stack, co->stack_size);
        setcontext(&uc);
        abort();                /* setcontext() returns only on failure */
    }
    finish_switch_fiber(fake_stack_save);
    return &co->base;
}

void qemu_coroutine_delete(Coroutine *co_)
{
    CoroutineUContext *co = container_of(co_, CoroutineUContext, base);
    long page = sysconf(_SC_PAGESIZE);

    munmap((char *)co->stack - page, co->stack_size + page);
    g_free(co);
}

CoroutineAction qemu_coroutine_switch(Coroutine *from_, Coroutine *to_,
                                      CoroutineAction action)
{
    CoroutineUContext *from = container_of(from_, CoroutineUContext, base);
    CoroutineUContext *to = container_of(to_, CoroutineUContext, base);
    int ret;
    void *fake_stack_save = NULL;

    current = to_;
    ret = sigsetjmp(from->env, 0);
    if (ret == 0) {
        start_switch_fiber(action == COROUTINE_TERMINATE ?
                           NULL : &fake_stack_save,
                           to->stack, to->stack_size);
        siglongjmp(to->env, action);
    }
    finish_switch_fiber(fake_stack_save);
    return ret;
}

Coroutine *qemu_coroutine_backend_self(void)
{
    if (!current) {
        current = &leader.base;
    }
    return current;
}

bool qemu_coroutine_backend_in_leader(void)
{
    return !current || current == &leader.base;
}
