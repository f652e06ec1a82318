"""The application: which CNN tells gender from a hand image (11K Hands), found by search and held against baselines.

* `config` (`ExperimentConfig`, and the run file that holds every config: `load_config`);
* `experiment` (`run_experiment`: for every split, the searches, their retraining and the
  baselines, resumable model by model);
* `baselines` (hand-made torchvision networks adapted to small images);
* `results` (test metrics and the comparison table, with measured latency);
* `gradcam` (where a network looks: Grad-CAM).
"""
from .baselines import HAND_MADE, hand_made
from .config import BASELINES, SEARCHES, ExperimentConfig, RunConfig, load_config
from .experiment import load_split, model_dir, run_experiment
from .gradcam import grad_cam, plot_grad_cam
from .results import rebuild, results_table, table_name, test_metrics

__all__ = [
    "BASELINES", "ExperimentConfig", "HAND_MADE", "RunConfig", "SEARCHES", "grad_cam", "hand_made",
    "load_config", "load_split", "model_dir", "plot_grad_cam", "rebuild", "results_table", "run_experiment",
    "table_name", "test_metrics",
]
