import sys, json, numpy as np, torch
sys.path.insert(0, '.')
from model import TRM, TRMConfig
torch.set_num_threads(1)
F='/work/shared/fixtures/trm-upstream-h64/'
sd = torch.load(F+'step_0')
cfg = TRMConfig(hidden_size=64, num_heads=4, expansion=4, L_layers=2, H_cycles=3, L_cycles=4, halt_max_steps=16,
                halt_exploration_prob=0.1, puzzle_emb_len=16, num_puzzle_identifiers=10, grid_size=30)
m = TRM(cfg); m.eval()
m.load_state_dict({k[len('_orig_mod.model.'):]: v.float() for k, v in sd.items()}, strict=True)
tok = torch.from_numpy(np.fromfile(F+'inputs.bin', dtype='<i4').reshape(3, 900))
ids = torch.from_numpy(np.fromfile(F+'puzzle_ids.bin', dtype='<i4').astype(np.int64))
exp = json.load(open(F+'expected.json'))
first = np.fromfile(F+'logits_first.bin', dtype='<f4').reshape(3, 900, 12)
with torch.no_grad():
    carry = m.inner.initial_carry(3)
    carry, logits, qh, qc = m.inner(carry, tok, ids)
print('max |dlogit| step1', float(np.abs(logits.numpy() - first).max()))
print('argmax equal step1', float((logits.argmax(-1).numpy() == np.array(exp['steps'][0]['argmax'])).mean()))
print('q_halt', qh.tolist(), exp['steps'][0]['q_halt'])
