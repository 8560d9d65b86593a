# Writes the small test fixtures of tests/reference/io_npy.cpp, io_safetensors.cpp and
# nn_persist.cpp. Run from tests/data with the venv of tools/requirements.txt:
#   cd tests/data && python make_fixtures.py
# (numpy 2.4.6, safetensors 0.8.0, torch 2.15.0). It prints the torch MLP outputs that
# nn_persist.cpp checks.
import numpy as np, torch
from numpy.lib import format as npf
from safetensors.numpy import save_file as np_save
from safetensors.torch import save_file as torch_save
np.save("npy_f4_2x3.npy", np.array([[0.5, -1.25, 3.0], [4.0, -0.0, 1024.125]], dtype="<f4"))
np.save("npy_f8_fortran_2x3.npy", np.asfortranarray(np.arange(6, dtype="<f8").reshape(2, 3) + 0.5))
with open("npy_i8_v2.npy", "wb") as f:
    npf.write_array(f, np.array([1, -2, 3000000000], dtype="<i8"), version=(2, 0))
np.save("npy_f2.npy", np.array([1.0, -0.5, 65504.0, 2.0**-24], dtype="<f2"))
np_save({"w": np.array([[1.0, 2.0], [3.0, -4.5]], dtype=np.float32),
         "h": np.array([0.5, -2.0, 6.103515625e-05], dtype=np.float16),
         "d": np.array([0.1], dtype=np.float64),
         "e": np.zeros((0, 3), dtype=np.float32)},
        "st_mixed.safetensors", metadata={"author": "recfuse", "note": "fixture"})
torch_save({"bf": torch.tensor([1.0, -2.5, 0.0078125], dtype=torch.bfloat16)}, "st_bf16.safetensors")
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
torch_save({"net." + k: v.contiguous() for k, v in net.state_dict().items()}, "torch_mlp.safetensors")
x = torch.tensor([[1.0, -2.0, 0.5], [0.25, 0.0, -1.0]])
with torch.no_grad():
    print(repr(net(x).double().numpy().tolist()))
