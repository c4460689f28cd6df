# PyTorch 1.13 CPU reference for the cloud-mask U-Net shape (BENCHMARKS.md §2.3):
# one training step (forward, BCE-with-logits, backward, Adam) on a synthetic batch.
import sys, time, torch, torch.nn as nn
torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
B = int(sys.argv[1]) if len(sys.argv) > 1 else 8
S = int(sys.argv[2]) if len(sys.argv) > 2 else 128
def block(i, o):
    return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.ReLU(), nn.Conv2d(o, o, 3, padding=1), nn.ReLU())
class UNet(nn.Module):
    def __init__(s):
        super().__init__()
        s.d0, s.d1, s.d2, s.d3 = block(9, 32), block(32, 64), block(64, 128), block(128, 256)
        s.u2, s.u1, s.u0 = block(384, 128), block(192, 64), block(96, 32)
        s.head = nn.Conv2d(32, 1, 1)
        s.pool, s.up = nn.MaxPool2d(2), nn.Upsample(scale_factor=2, mode="nearest")
    def forward(s, x):
        a = s.d0(x); b = s.d1(s.pool(a)); c = s.d2(s.pool(b)); d = s.d3(s.pool(c))
        x = s.u2(torch.cat([s.up(d), c], 1)); x = s.u1(torch.cat([s.up(x), b], 1)); x = s.u0(torch.cat([s.up(x), a], 1))
        return s.head(x)
m = UNet()
print("params", sum(p.numel() for p in m.parameters()))
opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
loss = nn.BCEWithLogitsLoss()
x = torch.randn(B, 9, S, S); y = (torch.rand(B, 1, S, S) > 0.5).float()
def step():
    opt.zero_grad(); l = loss(m(x), y); l.backward(); opt.step()
step()
n = int(sys.argv[4]) if len(sys.argv) > 4 else 3
t = time.time()
for _ in range(n): step()
dt = (time.time() - t) / n
gf = 3 * 21.48e9 * (S / 256) ** 2
print(f"torch {torch.__version__} batch {B} size {S} threads {torch.get_num_threads()}: {B/dt:.3f} samples/s, {B/dt*gf/1e9:.1f} GFLOP/s")
