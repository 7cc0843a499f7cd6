"""The upstream PtychoPINN PyTorch API (``ptycho_torch.api.base_api``) as a thin façade over this engine.

Clients written for upstream — ptychodus 1.7.0's "PtychoPINN-Torch" plugin among them — build the
engine's configs (:mod:`ptycho_torch.config_params`), a ``ConfigManager``, a ``PtychoDataLoader``, a
``PtychoModel`` and a ``Trainer``, then load the best checkpoint into an ``InferenceEngine``. Here each of
those is a few lines over the one training path (:func:`ptycho.workflows.models.train_model`), the
Lightning module and the shared stitching: there is no second engine.
"""
