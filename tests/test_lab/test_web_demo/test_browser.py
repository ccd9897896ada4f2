"""tools/web_demo.py driven in headless Chromium (Debian's chromium, installed by tools/setup.sh, through
Playwright): an upload's listed detections equal tools/demo.py's, a non-image gives the message, four pages asking
at once are all answered, a checkpoint that does not fit is named and left out, and the server hands out no file but
the examples."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers import ROOT, run_tool
from tests.test_lab.test_web_demo.common import demo_rows, make_data, tiny_model_files

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """A running tools/web_demo.py with a tiny RetinaNet and a checkpoint that does not fit its config; yields
    (url, files, the server's start-up output so far)."""
    root = tmp_path_factory.mktemp('browser')
    data = make_data(root / 'data')
    config, checkpoint = tiny_model_files(root, data, 'retinanet')
    _, other = tiny_model_files(root, data, 'fpn')
    port = free_port()
    log = open(root / 'server.log', 'w+')
    env = dict(os.environ, GRADIO_TEMP_DIR=str(root / 'gradio'), GRADIO_ANALYTICS_ENABLED='False',
               PYTHONWARNINGS='ignore')
    proc = subprocess.Popen([sys.executable, 'tools/web_demo.py', '--no-quickstart', '--model', config, checkpoint,
                             '--model', config, other, '--examples', os.path.join(data, 'coco', 'val2017'),
                             '--num-examples', '2', '--port', str(port), '--max-upload-mb', '1'],
                            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}'
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)
            break
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                proc.kill()
                pytest.fail(f'tools/web_demo.py did not start (exit {proc.poll()}):\n{log.read()[-3000:]}')
            time.sleep(0.5)
    log.seek(0)
    yield url, dict(config=config, checkpoint=checkpoint, other=other, data=data, root=root), log.read()
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope='module')
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f'no Chromium at {CHROMIUM}: the browser test drives the system browser; run bash tools/setup.sh '
                    f'as root (it installs Debian\'s chromium and chromium-driver) or apt-get install chromium')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        yield chromium
        chromium.close()


def upload(page, path: str):
    """Choose ``path`` in the page's file input (Gradio uploads it to the server)."""
    page.set_input_files('#upload input[type=file]', path)


def wait_for_upload(page, path: str):
    from playwright.sync_api import expect
    expect(page.locator(f'#upload td.filename[aria-label="{os.path.basename(path)}"]')).to_be_visible(
        timeout=TIMEOUT_MS)


def upload_and_predict(page, url: str, path: str):
    page.goto(url)
    upload(page, path)
    wait_for_upload(page, path)
    page.click('#predict')


def wait_for_message(page, text: str) -> str:
    from playwright.sync_api import expect
    expect(page.locator('#predict-message')).to_contain_text(text, timeout=TIMEOUT_MS)
    return page.locator('#predict-message').inner_text()


def table_rows(page):
    return [tuple(cell.inner_text() for cell in row.locator('td').all())
            for row in page.locator('#found-table tbody tr').all()]


def test_page_in_chromium(site, browser, tmp_path):
    url, files, startup = site
    image = os.path.join(files['data'], 'coco', 'val2017', 'val_00003.jpg')
    assert 'warning: left out tiny_retinanet (tiny_fpn.pth): ' in startup and files['other'] in startup
    page = browser.new_page(viewport=dict(width=1280, height=1000))
    upload_and_predict(page, url, image)
    text = wait_for_message(page, 'found by')
    proc = run_tool('tools/demo.py', image, files['config'], files['checkpoint'], '--out', tmp_path / 'demo.png',
                    '--score-thr', '0.3')
    expected = demo_rows(proc.stdout)
    assert len(expected) >= 5 and table_rows(page) == expected
    assert text.startswith(f'{len(expected)} found by tiny_retinanet (tiny_retinanet.pth) (detection)')
    assert 'PyTorch eager: ' in page.locator('#timings').inner_text()
    assert 'left out tiny_retinanet (tiny_fpn.pth)' in page.locator('#models').inner_text()
    page.screenshot(path=str(tmp_path / 'page.png'), full_page=True)
    if os.environ.get('MMPF_WEB_DEMO_SCREENSHOT'):
        shutil.copy(tmp_path / 'page.png', os.environ['MMPF_WEB_DEMO_SCREENSHOT'])

    notes = tmp_path / 'notes.txt'
    notes.write_text('not an image\n')
    upload_and_predict(page, url, str(notes))
    assert wait_for_message(page, 'error:') == ('error: image notes.txt is not a readable image; pass an image '
                                                'file (jpg, png, bmp, ...)')
    page.close()


def test_four_pages_at_once_are_all_answered(site, browser):
    url, files, _ = site
    pages = [browser.new_page() for _ in range(4)]
    images = [os.path.join(files['data'], 'coco', 'val2017', f'val_0000{i}.jpg') for i in range(1, 5)]
    for page, image in zip(pages, images):
        page.goto(url)
        upload(page, image)
    for page, image in zip(pages, images):
        wait_for_upload(page, image)
    for page in pages:
        page.click('#predict')
    for page, image in zip(pages, images):
        assert f'on {os.path.basename(image)}' in wait_for_message(page, 'found by')
        page.close()


def test_the_server_hands_out_no_file_but_the_examples(site):
    url, files, _ = site
    example = os.path.join(files['data'], 'coco', 'val2017', 'val_00001.jpg')
    with urllib.request.urlopen(f'{url}/gradio_api/file={example}', timeout=30) as response:
        assert response.status == 200 and response.read() == open(example, 'rb').read()
    not_listed = os.path.join(files['data'], 'coco', 'val2017', 'val_00005.jpg')  # beyond --num-examples 2
    for path in (files['checkpoint'], files['config'], not_listed, '/etc/passwd', os.path.join(ROOT, 'README.md')):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f'{url}/gradio_api/file={path}', timeout=30)
        assert refused.value.code in (403, 404), (path, refused.value.code)


def post_upload(url: str, name: str, content: bytes) -> int:
    """POST one file to Gradio's upload route as the page does; the HTTP status."""
    boundary = 'mmpoolformer-test-boundary'
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            f'Content-Type: application/octet-stream\r\n\r\n').encode() + content + f'\r\n--{boundary}--\r\n'.encode()
    request = urllib.request.Request(f'{url}/gradio_api/upload', data=body, method='POST',
                                     headers={'Content-Type': f'multipart/form-data; boundary={boundary}'})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_uploads_over_the_limit_are_refused_by_the_server(site):
    url, _, _ = site
    assert post_upload(url, 'small.jpg', b'x' * 1000) == 200
    assert post_upload(url, 'big.jpg', b'x' * (2 << 20)) == 413  # --max-upload-mb 1
