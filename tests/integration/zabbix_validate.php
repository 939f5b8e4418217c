<?php
// Zabbix's own import validator, offline: the path of the API's configuration.import
// (reader, CXmlValidator strict, constant converter) without the database.
// Usage: php zabbix_validate.php FRONTEND_DIR TEMPLATE.yaml  -> "valid" (exit 0) or the error (exit 1)
$root = $argv[1];
$file = realpath($argv[2]);
chdir($root);
require_once $root . '/vendor/autoload.php';
require_once $root . '/include/defines.inc.php';
require_once $root . '/include/gettextwrapper.inc.php';
require_once $root . '/include/func.inc.php';
$index = [];
foreach (['include/classes', 'app'] as $dir) {
	$it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($root . '/' . $dir));
	foreach ($it as $f) {
		if (substr($f->getFilename(), -4) === '.php') {
			$index[substr($f->getFilename(), 0, -4)] = $f->getPathname();
		}
	}
}
spl_autoload_register(function ($class) use ($index) {
	$base = substr(strrchr('\\' . $class, '\\'), 1);
	if (isset($index[$base])) {
		require_once $index[$base];
	}
});
try {
	$data = CImportReaderFactory::getReader(CImportReaderFactory::YAML)->read(file_get_contents($file));
	$factory = new CImportValidatorFactory('yaml');
	$data = (new CXmlValidator($factory, 'yaml'))->setStrict(true)->validate($data, '/');
	$schema = $factory->getObject(ZABBIX_EXPORT_VERSION)->getSchema();
	$data = (new CConstantImportConverter($schema))->convert($data);
	$data = (new CDefaultImportConverter($schema))->convert($data);
	echo "valid: version " . $data['zabbix_export']['version'] . ", " .
		count($data['zabbix_export']['templates']) . " template(s)\n";
	exit(0);
} catch (Exception $e) {
	echo "invalid: " . $e->getMessage() . "\n";
	exit(1);
}
