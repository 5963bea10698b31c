"""Write a Mage pipeline of no-op Python transformer blocks into a Mage project.

    python make_pipeline.py PROJECT NAME chain N     # b0 -> b1 -> ... -> b{N-1}
    python make_pipeline.py PROJECT NAME wide W      # start -> W branches -> join

The same shapes as ironmage's engine benchmark (crates/core/benches/engine.rs), so the two
orchestrators' per-block overhead can be compared on one machine.
"""
import os
import sys

BLOCK = '''if 'transformer' not in globals():
    from mage_ai.data_preparation.decorators import transformer


@transformer
def transform(*args, **kwargs):
    return {'ok': 1}
'''


def edges(shape, n):
    if shape == 'chain':
        names = [f'b{i}' for i in range(n)]
        return [(name, [names[i - 1]] if i else []) for i, name in enumerate(names)]
    branches = [f'branch{i}' for i in range(n)]
    return [('start', [])] + [(b, ['start']) for b in branches] + [('join', branches)]


def main(project, name, shape, n):
    blocks = edges(shape, int(n))
    downstream = {b: [] for b, _ in blocks}
    for b, ups in blocks:
        for u in ups:
            downstream[u].append(b)
    folder = os.path.join(project, 'pipelines', name)
    os.makedirs(folder, exist_ok=True)
    os.makedirs(os.path.join(project, 'transformers'), exist_ok=True)
    lines = ['blocks:']
    for b, ups in blocks:
        uuid = f'{name}_{b}'
        with open(os.path.join(project, 'transformers', f'{uuid}.py'), 'w') as f:
            f.write(BLOCK)
        lines += [
            f'- uuid: {uuid}',
            f'  name: {uuid}',
            '  type: transformer',
            '  language: python',
            '  executor_type: local_python',
            '  configuration: {}',
            f'  upstream_blocks: [{", ".join(f"{name}_{u}" for u in ups)}]',
            f'  downstream_blocks: [{", ".join(f"{name}_{d}" for d in downstream[b])}]',
        ]
    lines += [f'name: {name}', f'uuid: {name}', 'type: python', 'executor_type: local_python']
    with open(os.path.join(folder, 'metadata.yaml'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    open(os.path.join(folder, '__init__.py'), 'w').close()


if __name__ == '__main__':
    main(*sys.argv[1:])
