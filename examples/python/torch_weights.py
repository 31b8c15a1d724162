"""Weights from PyTorch: a module laid out as the seed's transformer neuron gives its
state_dict to a population, which spike-nn runs without writing a file.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/torch_weights.py

The module here is only a container of parameters under the seed's names (attention.query,
..., norm2): spike-nn computes the block itself. Any module whose state_dict has those names
and shapes would do, for instance a trained one.
"""

import torch
from torch import nn

import spikenn

EMBED, HEADS, HIDDEN = 32, 4, 128


class Attention(nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)


class FeedForward(nn.Module):
    def __init__(self, embed_dim, hidden_dim):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, embed_dim)


class TransformerNeuronWeights(nn.Module):
    def __init__(self, embed_dim, hidden_dim):
        super().__init__()
        self.attention = Attention(embed_dim)
        self.feed_forward = FeedForward(embed_dim, hidden_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)


torch.manual_seed(0)
module = TransformerNeuronWeights(EMBED, HIDDEN)
# With LayerNorm2 at PyTorch's defaults (weight 1, bias 0) the seed's mean readout is 0 for
# every input, and nothing would spike: weights that vary per element make the potential
# follow the input, and a bias gives it a drift upwards.
with torch.no_grad():
    module.norm2.weight.normal_(1.0, 0.5)
    module.norm2.bias.fill_(0.2)

net = spikenn.Network("a population with weights from a PyTorch module")
net.add_population("p", 5, embed_dim=EMBED, num_heads=HEADS, hidden_dim=HIDDEN, threshold=1.0, refractory_period="10ms",
                   decay="2/s", state_dict=module.state_dict())
net.add_stimulus("drive", "p", rate="100/s", until="1s", independent=True, tensor={"random": {"seq_len": 8}})

sim = spikenn.Simulation(net, seed=4, until="1s")
sim.run()

counts = {name: 0 for name in sim.names}
for neuron in sim.spikes["neuron"]:
    counts[sim.names[neuron]] += 1
print(f"{sim.events_processed} events, fingerprint {sim.fingerprint:#018x}")
for name, n in counts.items():
    print(f"{name:6} {n:4} spikes")
