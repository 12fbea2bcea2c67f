// The broker ACL generator (deploy/mosquitto-acl.ts): grants, and refusal of clashing names.
import t from 'tap';
import { mosquittoAcl, nameClashes, parseAclDevice } from '../../deploy/mosquitto-acl.js';

t.test('one block per device: its own topics and its cameras', async (t) => {
  const acl = mosquittoAcl({ site: 'plant-3', devices: [parseAclDevice('gate-jetson:gate-north,gate-south'), parseAclDevice('lobby-pi:lobby')] });
  t.match(acl, /user gate-jetson\ntopic write plant-3\/gate-jetson\/#\ntopic write plant-3\/gate-north\/#\ntopic write plant-3\/gate-south\/#\ntopic read plant-3\/gate-jetson\/model\/push\ntopic read plant-3\/gate-jetson\/model\/rollback/);
  t.match(acl, /user edgectl\ntopic readwrite plant-3\/#/);
});

t.test('clashing names are refused: a camera named like a device would write its topics', async (t) => {
  t.throws(() => mosquittoAcl({ site: 's', devices: [parseAclDevice('edge-1:cam1'), parseAclDevice('edge-2:edge-1')] }), /name clash.*"edge-1" is device edge-1 and a camera of edge-2/);
  t.throws(() => mosquittoAcl({ site: 's', devices: [parseAclDevice('edge-1:lobby'), parseAclDevice('edge-2:lobby')] }), /"lobby" is a camera of edge-1 and a camera of edge-2/);
  t.throws(() => mosquittoAcl({ site: 's', devices: [parseAclDevice('edge-1:cam1'), parseAclDevice('edge-1:cam2')] }), /"edge-1" is device edge-1 and device edge-1/);
  t.throws(() => mosquittoAcl({ site: 's', devices: [parseAclDevice('edgectl:cam1')] }), /the operator account/);
  t.same(nameClashes([parseAclDevice('a:x,y'), parseAclDevice('b:z')], 'edgectl'), []);
  t.throws(() => mosquittoAcl({ site: 's', devices: [parseAclDevice('a:../x')] }), /not topic-safe/);
});
