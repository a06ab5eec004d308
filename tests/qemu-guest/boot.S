/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multiboot v1 entry of the svmig test guest (see guest.c).  QEMU's
 * -kernel loads this 32-bit ELF and enters _start in flat 32-bit protected
 * mode, paging and interrupts off, with EAX = 0x2BADB002 and EBX = the
 * multiboot information.  We load our own GDT (the loader's one may lie in
 * memory we are free to reuse), set up a stack, clear .bss and call
 * guest_main(magic, mbi), which never returns.
 */
#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */

	.section .multiboot, "a"
	.p2align 2
	.long	MB_MAGIC
	.long	MB_FLAGS
	.long	-(MB_MAGIC + MB_FLAGS)

	.section .text
	.code32
	.globl	_start
	.type	_start, @function
_start:
	cli
	cld
	movl	%eax, %esi		/* magic */
	movl	%ebx, %edi		/* multiboot info */
	lgdt	gdt_desc
	ljmp	$0x08, $1f
1:	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	$stack_top, %esp
	xorl	%ebp, %ebp

	/* zero .bss (the ELF loader should have done it; be sure) */
	movl	$__bss_start, %ecx
2:	cmpl	$__bss_end, %ecx
	jae	3f
	movb	$0, (%ecx)
	incl	%ecx
	jmp	2b
3:
	pushl	%edi
	pushl	%esi
	call	guest_main
4:	cli
	hlt
	jmp	4b
	.size	_start, . - _start

	.section .rodata
	.p2align 3
gdt:
	.quad	0				/* null */
	.quad	0x00cf9a000000ffff		/* 0x08: code, flat, 32-bit */
	.quad	0x00cf92000000ffff		/* 0x10: data, flat */
gdt_end:
	.p2align 2
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

	.section .bss
	.p2align 4
stack:
	.skip	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
