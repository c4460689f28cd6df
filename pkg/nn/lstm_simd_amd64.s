#include "textflag.h"

// func lstmGatesAVX2(p *lstmGateArgs)
// The gate-gradient loop of LSTM.gateGradsSigmoid, 8 units at a time, with
// the same float32 operations in the same order as the Go loop (bitwise
// equal). p: zr+0, dr+8, dhn+16, dcn+24, a+32, cp+40, dy+48, dA+56, dG+64,
// n+72 (a multiple of 8), stride+80 (H·4 bytes: one gate block), one+88.
// Go operand order: VOP src2, src1, dst computes dst = src1 OP src2.
TEXT ·lstmGatesAVX2(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), CX
	VBROADCASTSS 88(CX), Y15   // 1
	MOVQ 0(CX), R8             // zr: i at 0, f at stride, g at 2·stride, o at 3·stride
	MOVQ 8(CX), R11            // dr, same layout
	MOVQ 16(CX), SI            // dhn
	MOVQ 24(CX), DI            // dcn
	MOVQ 32(CX), BX            // a = act(c)
	MOVQ 40(CX), DX            // c_{t−1} (zeros at t = 0)
	MOVQ 48(CX), R12           // dy row (−0 when there is none: x + (−0) = x)
	MOVQ 56(CX), R13           // act'(a)
	MOVQ 64(CX), AX            // act'(g)
	MOVQ 80(CX), R9            // stride
	LEAQ (R9)(R9*2), R10       // 3·stride
	MOVQ 72(CX), CX            // n

gateloop:
	CMPQ CX, $0
	JLE  gatedone
	VMOVUPS (SI), Y0
	VADDPS  (R12), Y0, Y0      // dh = dhn + dy
	VMOVUPS (R8), Y1           // i
	VMOVUPS (R8)(R9*1), Y2     // f
	VMOVUPS (R8)(R9*2), Y3     // g
	VMOVUPS (R8)(R10*1), Y4    // og
	VMULPS  Y4, Y0, Y6         // dh·og
	VMULPS  (R13), Y6, Y6      // ·act'(a)
	VADDPS  (DI), Y6, Y6       // dc = dcn + …
	VMULPS  Y3, Y6, Y7         // dc·g
	VSUBPS  Y1, Y15, Y8        // 1 − i
	VMULPS  Y8, Y1, Y8         // i·(1 − i)
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (R11)          // di
	VMULPS  (DX), Y6, Y7       // dc·c_{t−1}
	VSUBPS  Y2, Y15, Y8
	VMULPS  Y8, Y2, Y8         // f·(1 − f)
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (R11)(R9*1)    // df
	VMULPS  Y1, Y6, Y7         // dc·i
	VMULPS  (AX), Y7, Y7       // ·act'(g)
	VMOVUPS Y7, (R11)(R9*2)    // dg
	VMULPS  (BX), Y0, Y7       // dh·a
	VSUBPS  Y4, Y15, Y8
	VMULPS  Y8, Y4, Y8         // og·(1 − og)
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (R11)(R10*1)   // do
	VMULPS  Y2, Y6, Y7         // dc·f
	VMOVUPS Y7, (DI)           // dcn
	ADDQ    $32, R8
	ADDQ    $32, R11
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, BX
	ADDQ    $32, DX
	ADDQ    $32, R12
	ADDQ    $32, R13
	ADDQ    $32, AX
	SUBQ    $8, CX
	JMP     gateloop

gatedone:
	VZEROUPPER
	RET
