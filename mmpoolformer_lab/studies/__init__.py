"""Studies that run the toolbox's own tools many times: the paper's ablations on the demo tasks
(:mod:`.ablation`) and the seed study of the quickstarts (:mod:`.quickstart`)."""
