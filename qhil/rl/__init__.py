"""hDQNN-TD3: config, buffers, networks and blocks, TD3 maths, the hardware seam and the loop."""
