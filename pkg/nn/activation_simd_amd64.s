#include "textflag.h"

// AVX2 twins of exp32, expm1_32, sigmoid, tanh32 and SELU (activation_fast.go,
// activation.go): the same float32 operations in the same order, so the
// results are bitwise equal. Go operand order: VOP src2, src1, dst computes
// dst = src1 OP src2; VCMPPS $p, b, a, m sets m = (a p b); VBLENDVPS m, b, a, d
// sets d = m ? b : a. R10 holds *simdConsts (offsets in activation_simd.go).

// EXP sets Y1 = exp32(Y0) for lanes in (-87, 88); clobbers Y2-Y5.
#define EXP \
	VBROADCASTSS 0(R10), Y2 \
	VMULPS       Y2, Y0, Y2 \     // t = x·log2e
	VBROADCASTSS 80(R10), Y3 \
	VANDPS       Y2, Y3, Y3 \     // sign of t
	VBROADCASTSS 12(R10), Y4 \
	VORPS        Y4, Y3, Y3 \     // ±0.5
	VADDPS       Y3, Y2, Y2 \     // t ± 0.5
	VCVTTPS2DQ   Y2, Y2 \         // n = int32(t)
	VCVTDQ2PS    Y2, Y3 \         // fn
	VBROADCASTSS 4(R10), Y4 \
	VMULPS       Y4, Y3, Y4 \     // fn·ln2hi
	VSUBPS       Y4, Y0, Y5 \     // x − fn·ln2hi
	VBROADCASTSS 8(R10), Y4 \
	VMULPS       Y4, Y3, Y4 \     // fn·ln2lo
	VSUBPS       Y4, Y5, Y5 \     // r
	VBROADCASTSS 40(R10), Y1 \
	VMULPS       Y1, Y5, Y1 \     // r·c7
	VBROADCASTSS 36(R10), Y4 \
	VADDPS       Y1, Y4, Y1 \     // c6 + …
	VMULPS       Y1, Y5, Y1 \
	VBROADCASTSS 32(R10), Y4 \
	VADDPS       Y1, Y4, Y1 \     // c5 + …
	VMULPS       Y1, Y5, Y1 \
	VBROADCASTSS 28(R10), Y4 \
	VADDPS       Y1, Y4, Y1 \     // c4 + …
	VMULPS       Y1, Y5, Y1 \
	VBROADCASTSS 24(R10), Y4 \
	VADDPS       Y1, Y4, Y1 \     // c3 + …
	VMULPS       Y1, Y5, Y1 \
	VBROADCASTSS 20(R10), Y4 \
	VADDPS       Y1, Y4, Y1 \     // c2 + …
	VMULPS       Y1, Y5, Y1 \
	VBROADCASTSS 16(R10), Y4 \
	VADDPS       Y1, Y4, Y1 \     // 1 + …
	VMULPS       Y1, Y5, Y1 \
	VADDPS       Y1, Y4, Y1 \     // p = 1 + r·(…)
	VPBROADCASTD 88(R10), Y4 \
	VPADDD       Y4, Y2, Y2 \
	VPSLLD       $23, Y2, Y2 \    // 2ⁿ
	VMULPS       Y2, Y1, Y1       // p·2ⁿ

// EXPM1 sets Y1 = expm1_32(Y0) for lanes in (-87, 88); clobbers Y2-Y7.
#define EXPM1 \
	EXP \
	VBROADCASTSS 16(R10), Y4 \
	VSUBPS       Y4, Y1, Y6 \     // exp32(x) − 1
	VBROADCASTSS 52(R10), Y1 \
	VMULPS       Y1, Y0, Y1 \     // x·c8
	VBROADCASTSS 40(R10), Y2 \
	VADDPS       Y1, Y2, Y1 \     // c7 + …
	VMULPS       Y1, Y0, Y1 \
	VBROADCASTSS 36(R10), Y2 \
	VADDPS       Y1, Y2, Y1 \
	VMULPS       Y1, Y0, Y1 \
	VBROADCASTSS 32(R10), Y2 \
	VADDPS       Y1, Y2, Y1 \
	VMULPS       Y1, Y0, Y1 \
	VBROADCASTSS 28(R10), Y2 \
	VADDPS       Y1, Y2, Y1 \
	VMULPS       Y1, Y0, Y1 \
	VBROADCASTSS 24(R10), Y2 \
	VADDPS       Y1, Y2, Y1 \
	VMULPS       Y1, Y0, Y1 \
	VBROADCASTSS 20(R10), Y2 \
	VADDPS       Y1, Y2, Y1 \     // c2 + …
	VMULPS       Y1, Y0, Y1 \
	VADDPS       Y1, Y4, Y1 \     // 1 + …
	VMULPS       Y1, Y0, Y1 \     // Taylor: x·(1 + …)
	VBROADCASTSS 56(R10), Y2 \
	VCMPPS       $0x1e, Y2, Y0, Y3 \ // x > −0.5
	VBROADCASTSS 12(R10), Y2 \
	VCMPPS       $0x11, Y2, Y0, Y7 \ // x < 0.5
	VANDPS       Y7, Y3, Y3 \
	VBLENDVPS    Y3, Y1, Y6, Y1   // |x| < 0.5 ? Taylor : exp − 1

// func sigmoidAVX2(y, x *float32, n int, k *simdConsts) int
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R10
	XORQ AX, AX

sigloop:
	CMPQ AX, CX
	JGE  sigdone
	VMOVUPS      (SI)(AX*4), Y8       // v
	VBROADCASTSS 80(R10), Y0
	VORPS        Y0, Y8, Y0           // a = −|v|
	VBROADCASTSS 44(R10), Y2
	VCMPPS       $0x1e, Y2, Y0, Y3    // a > −87 (false for NaN)
	VMOVMSKPS    Y3, DX
	CMPL         DX, $0xff
	JNE          sigdone
	EXP                               // e = exp32(−|v|)
	VBROADCASTSS 16(R10), Y4          // 1
	VADDPS       Y1, Y4, Y5           // 1 + e
	VXORPS       Y6, Y6, Y6
	VCMPPS       $0x1d, Y6, Y8, Y7    // v ≥ 0
	VBLENDVPS    Y7, Y4, Y1, Y6       // v ≥ 0 ? 1 : e
	VDIVPS       Y5, Y6, Y6
	VMOVUPS      Y6, (DI)(AX*4)
	ADDQ         $8, AX
	JMP          sigloop

sigdone:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET

// func tanhAVX2(y, x *float32, n int, k *simdConsts) int
TEXT ·tanhAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R10
	XORQ AX, AX

tanhloop:
	CMPQ AX, CX
	JGE  tanhdone
	VMOVUPS      (SI)(AX*4), Y8       // x
	VCMPPS       $0x03, Y8, Y8, Y3    // unordered: NaN
	VMOVMSKPS    Y3, DX
	TESTL        DX, DX
	JNE          tanhdone
	VBROADCASTSS 60(R10), Y0
	VMULPS       Y8, Y0, Y0           // z = 2·x
	EXPM1                             // e = expm1_32(z); garbage where |x| > 9, blended out
	VBROADCASTSS 60(R10), Y2
	VADDPS       Y2, Y1, Y2           // e + 2
	VDIVPS       Y2, Y1, Y1           // e / (e + 2)
	VBROADCASTSS 64(R10), Y2
	VCMPPS       $0x1e, Y2, Y8, Y3    // x > 9
	VBROADCASTSS 16(R10), Y4
	VBLENDVPS    Y3, Y4, Y1, Y1       // 1
	VBROADCASTSS 68(R10), Y2
	VCMPPS       $0x11, Y2, Y8, Y3    // x < −9
	VBROADCASTSS 80(R10), Y5
	VORPS        Y5, Y4, Y4           // −1
	VBLENDVPS    Y3, Y4, Y1, Y1
	VMOVUPS      Y1, (DI)(AX*4)
	ADDQ         $8, AX
	JMP          tanhloop

tanhdone:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET

// func seluAVX2(y, x *float32, n int, k *simdConsts) int
TEXT ·seluAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R10
	XORQ AX, AX

seluloop:
	CMPQ AX, CX
	JGE  seludone
	VMOVUPS      (SI)(AX*4), Y0       // v
	VBROADCASTSS 44(R10), Y2
	VCMPPS       $0x1e, Y2, Y0, Y3    // v > −87 (false for NaN)
	VMOVMSKPS    Y3, DX
	CMPL         DX, $0xff
	JNE          seludone
	EXPM1                             // expm1_32(v); garbage where v is large, blended out
	VBROADCASTSS 76(R10), Y2
	VMULPS       Y1, Y2, Y1           // scale·alpha·expm1(v)
	VBROADCASTSS 72(R10), Y2
	VMULPS       Y0, Y2, Y2           // scale·v
	VXORPS       Y6, Y6, Y6
	VCMPPS       $0x1e, Y6, Y0, Y3    // v > 0
	VBLENDVPS    Y3, Y2, Y1, Y1
	VMOVUPS      Y1, (DI)(AX*4)
	ADDQ         $8, AX
	JMP          seluloop

seludone:
	VZEROUPPER
	MOVQ AX, ret+32(FP)
	RET
