"""Run under torchrun by test_distributed.py: every rank prepares one run folder and trains into it."""
import os
import sys
import time
import traceback

import torch
import torch.distributed as dist

from multissl.engine import TrainConfig, fit
from multissl.run import prepare_run_folder, write_run_config
from multissl.toy import ToyContrastiveTask

from ddp_workers import fixed_pairs

if __name__ == "__main__":
    out, overwrite = sys.argv[1], sys.argv[2] == "overwrite"
    status = 1
    try:
        if int(os.environ["RANK"]) == 1:
            time.sleep(0.5)  # the slower rank arrives after rank 0 wrote the config: no race either way
        prepare_run_folder(out, "vision", "toy", {"train": {}}, overwrite=overwrite)
        write_run_config(out, "vision", "toy", 0, {"train": {}})
        torch.manual_seed(0)
        task = ToyContrastiveTask(6, hidden=16, out_dim=8, temperature=0.5)
        fit(task, fixed_pairs(), torch.optim.SGD(task.parameters(), lr=0.5),
            TrainConfig(steps=3, batch_size=8, output_dir=out, overwrite=overwrite, verbose=False))
        print(f"rank {dist.get_rank()} trained", flush=True)
        status = 0
    except FileExistsError as err:
        print(f"rank {dist.get_rank()}: FileExistsError: {err}", flush=True)
        status = 3
    except BaseException:  # os._exit below would swallow the traceback
        traceback.print_exc()
        status = 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        # The folder race is what this checks; gloo's threads can still abort an exiting interpreter (a torch
        # issue, "terminate called without an active exception"), so the process ends without finalisation.
        os._exit(status)
