def test_converter_benchmark_runs_both_methods(tool, tmp_path):
    tool('tools/make_synthetic_celebamask.py', str(tmp_path / 'r'), '--num', '6', '--image-size',
         '64', '--mask-size', '32', '--nproc', '1', check=True)
    proc = tool('tools/analysis/benchmark_data.py', 'converter', str(tmp_path / 'r'),
                '--nproc', '2',
                check=True)
    assert 'images: 6, mask size 32x32' in proc.stdout
    assert 'palette method (sequential)' in proc.stdout and 'speed-up' in proc.stdout
    # both methods agree on 0/255 white masks (the palette trick holds for those)
    assert 'identical label maps: 100.0%' in proc.stdout
