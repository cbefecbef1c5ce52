/*
 * bcryptprimitives.dll for Wine 8, which lacks it: Go 1.22 and later read
 * random bytes through ProcessPrng and stop at start without it. This shim
 * exports ProcessPrng and fills the buffer from RtlGenRandom
 * (advapi32!SystemFunction036), whose length is a ULONG: so in chunks.
 * Built by .ci/wine-tests with mingw-w64; for tests under Wine only.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	const SIZE_T chunk = 1u << 30;
	while (len > 0) {
		ULONG n = (ULONG)(len < chunk ? len : chunk);
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
	(void)inst; (void)reason; (void)reserved;
	return TRUE;
}
