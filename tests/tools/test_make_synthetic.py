def test_cli_writes_release_and_reports_speed(tool, tmp_path):
    out = tmp_path / 'syn'
    proc = tool('tools/make_synthetic_celebamask.py', str(out), '--num', '4', '--image-size', '64',
                '--mask-size', '32', '--nproc', '1', check=True)
    assert '4 faces in' in proc.stdout and 'faces/s' in proc.stdout
    names = sorted(p.name for p in (out / 'CelebA-HQ-img').iterdir())
    assert names == ['0.jpg', '1.jpg', '2.jpg', '3.jpg']
    bad = tool('tools/make_synthetic_celebamask.py', str(out), '--num', '0')
    assert bad.returncode == 2 and 'must be positive' in bad.stderr
