# PyTorch CPU reference for the candle-uno MLP (same shapes as scibench's
# `train-bench --model uno`): 1 thread, batch 64, fwd+bwd+Adamax.
import time, torch, torch.nn as nn
torch.set_num_threads(1)
torch.manual_seed(0)
def tower(i):
    return nn.Sequential(nn.Linear(i,1000), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(1000,1000), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(1000,1000), nn.ReLU(), nn.Dropout(0.1))
class Uno(nn.Module):
    def __init__(s):
        super().__init__()
        s.c, s.d = tower(942), tower(5270)
        layers = []
        for k in range(5):
            layers += [nn.Linear(2000 if k == 0 else 1000, 1000), nn.ReLU(), nn.Dropout(0.1)]
        s.h = nn.Sequential(*layers, nn.Linear(1000, 1))
    def forward(s, c, d):
        return s.h(torch.cat([s.c(c), s.d(d)], 1))
m = Uno()
print("params", sum(p.numel() for p in m.parameters()), "torch", torch.__version__)
opt = torch.optim.Adamax(m.parameters(), lr=1e-3)
c, d, y = torch.randn(64, 942), torch.randn(64, 5270), torch.rand(64, 1)
lf = nn.MSELoss()
def step():
    opt.zero_grad(); l = lf(m(c, d), y); l.backward(); opt.step()
for _ in range(3): step()
res = []
for r in range(3):
    t = time.perf_counter()
    for _ in range(15): step()
    res.append(15 * 64 / (time.perf_counter() - t))
print("samples/s", " ".join("%.1f" % x for x in res))
