/* Start-up code for an exported hwnas model on an ARM MPS2 board under QEMU (mps2.ld): the vector
 * table, copying .data and clearing .bss, the FPU on, SysTick counting (hn_mps2_ticks), a painted
 * stack, then main(); afterwards the
 * stack's high-water mark is printed and the result goes back to QEMU through semihosting (QEMU exits
 * with 0 when main returned 0, else 1). Any fault also ends the run through semihosting, never a hang.
 * Built with newlib's semihosting library (--specs=rdimon.specs -nostartfiles). */
#include <stdint.h>
#include <stdio.h>

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[], __stack_top[], __stack_limit[];
extern void initialise_monitor_handles(void); /* newlib's semihosting stdio */
int main(void);

enum { PAINT = 0x5AA5C33C, ADP_STOPPED_APPLICATION_EXIT = 0x20026, ADP_STOPPED_RUNTIME_ERROR = 0x20023 };

/* SYS_EXIT (0x18) with the reason; QEMU turns ApplicationExit into exit status 0, others into 1 */
static void __attribute__((noreturn)) semihost_exit(uint32_t reason) {
    register uint32_t r0 __asm__("r0") = 0x18;
    register uint32_t r1 __asm__("r1") = reason;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

/* SysTick on the processor clock (QEMU: the board's 25 MHz of virtual time; under -icount shift=S each
 * instruction takes 2^S ns of it), a 24-bit down-counter whose wraps the exception counts */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
static volatile uint32_t wraps;

static void systick(void) { wraps++; }

/* ticks since start-up (HN_TIMER of an exported main.c) */
unsigned long long hn_mps2_ticks(void) {
    uint32_t w, v;
    do { /* a wrap between the two reads would pair an old count with a new value */
        w = wraps, v = SYST_CVR;
    } while (w != wraps);
    return ((unsigned long long)w << 24) + (0xFFFFFFu - v);
}

static void fault(void) {
    fputs("fault: the model crashed on the target\n", stderr);
    semihost_exit(ADP_STOPPED_RUNTIME_ERROR);
}

void Reset_Handler(void) {
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: full access to CP10 and CP11, the FPU */
    __asm__ volatile("dsb\n\tisb");
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_limit; p < sp - 16; p++) *p = PAINT; /* 64 bytes of margin below this frame */
    SYST_RVR = 0xFFFFFF, SYST_CVR = 0, SYST_CSR = 7; /* processor clock, exception on wrap, enabled */
    initialise_monitor_handles();
    int rc = main();
    uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == PAINT) p++;
    printf("stack high-water mark: %lu bytes\n", (unsigned long)((uintptr_t)__stack_top - (uintptr_t)p));
    fflush(stdout);
    semihost_exit(rc == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUNTIME_ERROR);
}

/* the ARMv7-M vector table: the initial stack pointer, then the reset and fault handlers */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__stack_top, Reset_Handler, fault, fault, fault, fault, fault, 0, 0, 0, 0, fault, fault, 0, fault, systick,
};
