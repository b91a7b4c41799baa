/* SPDX-License-Identifier: MIT */
/* Demo program: greets on the UART and powers off through the syscon. */
#include "common/test.h"

int main(void);
int main(void)
{
	puts_raw("Hello from maquina!\n");
	puts_raw("hart ");
	put_dec(hartid());
	puts_raw(" in M-mode, misa=");
	put_hex(csr_read(misa));
	puts_raw(", bye.\n");
	syscon_exit(0);
}
