"""resumable_loops.batches_after: the batches of an epoch after its first N, left out by index (nothing of them is
loaded), with and without worker processes (persistent ones re-read the sampler each epoch), and every batch again
in the epoch after."""
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mmpoolformer.engine.resumable_loops import batches_after


class Loads(Dataset):
    """Item i is i; each load is noted in a file (loads in worker processes too)."""

    def __init__(self, log):
        self.log = log

    def __len__(self):
        return 10

    def __getitem__(self, index):
        with open(self.log, 'a') as f:
            f.write(f'{index}\n')
        return index


def epochs(loader, generator, skip_in_epoch_2=0):
    """Three epochs of ``loader``, each shuffled from seed 3 + epoch (as a sampler's set_epoch does); the loads of the
    second noted apart."""
    batches = []
    for epoch in range(3):
        generator.manual_seed(3 + epoch)
        if epoch == 1:
            loader.dataset.log.write_text('')
        iterator = batches_after(loader, skip_in_epoch_2) if epoch == 1 else iter(loader)
        batches.append([batch.tolist() for batch in iterator])
        if epoch == 1:
            loads = sorted(int(i) for i in loader.dataset.log.read_text().split())
    return batches, loads


@pytest.mark.parametrize('workers', [0, 2])
def test_the_first_batches_are_left_out_without_loading_them(workers, tmp_path):
    def loader(name):
        generator = torch.Generator()
        return DataLoader(Loads(tmp_path / name), batch_size=3, shuffle=True, generator=generator,
                          num_workers=workers, persistent_workers=workers > 0), generator

    (whole, whole_loads), (resumed, resumed_loads) = epochs(*loader('a')), epochs(*loader('b'), skip_in_epoch_2=2)
    assert len(whole[1]) == 4 and resumed[1] == whole[1][2:]
    assert whole_loads == list(range(10)) and resumed_loads == sorted(sum(whole[1][2:], []))  # only these loaded
    assert resumed[0] == whole[0] and resumed[2] == whole[2]  # the epoch after has every batch again
