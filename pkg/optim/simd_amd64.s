#include "textflag.h"

// Operand order is Go's: VOP src2, src1, dst computes dst = src1 OP src2.

// func adamSIMD(w, grad, m, v *float32, n int, k *adamKernel)
// k: lrt+0, b1+4, c1+8, b2+12, c2+16, eps+20, decay+24.
TEXT ·adamSIMD(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	VBROADCASTSS 0(R10), Y9   // lrt
	VBROADCASTSS 4(R10), Y10  // b1
	VBROADCASTSS 8(R10), Y11  // c1
	VBROADCASTSS 12(R10), Y12 // b2
	VBROADCASTSS 16(R10), Y13 // c2
	VBROADCASTSS 20(R10), Y14 // eps
	VBROADCASTSS 24(R10), Y15 // decay
	XORQ AX, AX

adamloop:
	CMPQ AX, CX
	JGE  adamdone
	VMOVUPS (SI)(AX*4), Y0       // g
	VMULPS  (R8)(AX*4), Y10, Y1  // b1·m
	VMULPS  Y0, Y11, Y2          // c1·g
	VADDPS  Y2, Y1, Y1           // m' = b1·m + c1·g
	VMULPS  (R9)(AX*4), Y12, Y3  // b2·v
	VMULPS  Y0, Y13, Y4          // c2·g
	VMULPS  Y0, Y4, Y4           // (c2·g)·g
	VADDPS  Y4, Y3, Y3           // v' = b2·v + c2·g·g
	VMOVUPS Y1, (R8)(AX*4)
	VMOVUPS Y3, (R9)(AX*4)
	VSQRTPS Y3, Y5               // √v'
	VADDPS  Y14, Y5, Y5          // √v' + eps
	VMULPS  Y1, Y9, Y6           // lrt·m'
	VDIVPS  Y5, Y6, Y6           // lrt·m' / (√v' + eps)
	VMULPS  (DI)(AX*4), Y15, Y7  // decay·w (w·1 is w, bit for bit)
	VSUBPS  Y6, Y7, Y7
	VMOVUPS Y7, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     adamloop

adamdone:
	VZEROUPPER
	RET

// func adamaxSIMD(w, grad, m, u *float32, n int, k *adamaxKernel)
// k: lrt+0, b1+4, c1+8, b2+12, eps+16, decay+20.
TEXT ·adamaxSIMD(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ u+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ k+40(FP), R10
	VBROADCASTSS 0(R10), Y9   // lrt
	VBROADCASTSS 4(R10), Y10  // b1
	VBROADCASTSS 8(R10), Y11  // c1
	VBROADCASTSS 12(R10), Y12 // b2
	VBROADCASTSS 16(R10), Y14 // eps
	VBROADCASTSS 20(R10), Y15 // decay
	MOVL         $0x7fffffff, DX
	MOVQ         DX, X13
	VPBROADCASTD X13, Y13     // |x| mask
	XORQ AX, AX

adamaxloop:
	CMPQ AX, CX
	JGE  adamaxdone
	VMOVUPS (SI)(AX*4), Y0       // g
	VMULPS  (R8)(AX*4), Y10, Y1  // b1·m
	VMULPS  Y0, Y11, Y2          // c1·g
	VADDPS  Y2, Y1, Y1           // m' = b1·m + c1·g
	VMULPS  (R9)(AX*4), Y12, Y3  // b2·u
	VANDPS  Y0, Y13, Y4          // |g|
	VMAXPS  Y4, Y3, Y3           // u' = max(b2·u, |g|); NaN in either gives |g|
	VMOVUPS Y1, (R8)(AX*4)
	VMOVUPS Y3, (R9)(AX*4)
	VADDPS  Y14, Y3, Y5          // u' + eps
	VMULPS  Y1, Y9, Y6           // lrt·m'
	VDIVPS  Y5, Y6, Y6           // lrt·m' / (u' + eps)
	VMULPS  (DI)(AX*4), Y15, Y7  // decay·w
	VSUBPS  Y6, Y7, Y7
	VMOVUPS Y7, (DI)(AX*4)
	ADDQ    $8, AX
	JMP     adamaxloop

adamaxdone:
	VZEROUPPER
	RET
