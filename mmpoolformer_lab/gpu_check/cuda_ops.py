"""mmcv's compiled CUDA operators against its CPU ones on the same random inputs: NMS (RetinaNet's and the RPN's
post-processing) and RoIAlign (Mask R-CNN's box and mask heads)."""
import torch


def cuda_ops_match_cpu(seed: int = 0) -> str:
    """Run ``mmcv.ops.nms`` on 2000 random boxes and ``mmcv.ops.roi_align`` on 256 random RoIs of a (2, 64, 50, 76)
    feature map on the GPU and the CPU; raise AssertionError naming the op that differs, else return a one-line
    summary."""
    from mmcv.ops import nms, roi_align
    generator = torch.Generator().manual_seed(seed)
    xy = torch.rand(2000, 2, generator=generator) * 700
    wh = torch.rand(2000, 2, generator=generator) * 120 + 4
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(2000, generator=generator)
    kept_cpu = nms(boxes, scores, 0.5)[1]
    kept_gpu = nms(boxes.cuda(), scores.cuda(), 0.5)[1].cpu()
    assert torch.equal(kept_cpu, kept_gpu), f'CUDA NMS kept {len(kept_gpu)} boxes, the CPU {len(kept_cpu)}'
    features = torch.randn(2, 64, 50, 76, generator=generator)
    starts = torch.rand(256, 2, generator=generator) * 500
    rois = torch.cat([torch.randint(0, 2, (256, 1), generator=generator).float(), starts,
                      starts + torch.rand(256, 2, generator=generator) * 100 + 8], 1)
    pooled_cpu = roi_align(features, rois, (7, 7), 1 / 8, 2, 'avg', True)
    pooled_gpu = roi_align(features.cuda(), rois.cuda(), (7, 7), 1 / 8, 2, 'avg', True).cpu()
    difference = (pooled_cpu - pooled_gpu).abs().max().item()
    assert difference < 1e-4, f'CUDA RoIAlign differs from the CPU one by {difference:.2g}'
    return (f'NMS kept the same {len(kept_cpu)} of 2000 boxes on the GPU and the CPU; RoIAlign of 256 RoIs agrees to '
            f'{difference:.1g}')
